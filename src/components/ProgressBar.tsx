import * as React from 'react';

import { formatFraction } from './format';

/** Props of {@link ProgressBar}. */
export interface IProgressBarProps {
  /** Done, in [0, 1]. */
  fraction: number;
  /** Accessible name, e.g. "cms:ds at SITE-B". */
  label: string;
  /** Extra class: ``wp5-mod-ok``, ``wp5-mod-stuck``, ... */
  className?: string;
}

/** A thin bar; never shows a partial copy as full (see ``formatFraction``). */
export function ProgressBar(props: IProgressBarProps): JSX.Element {
  const text = formatFraction(props.fraction);
  return (
    <div
      className={`wp5-fraction-bar wp5-progress ${props.className ?? ''}`}
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={parseInt(text, 10)}
      aria-label={props.label}
    >
      <div className="wp5-fraction-fill" style={{ width: text }} />
    </div>
  );
}
