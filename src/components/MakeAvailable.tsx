import * as React from 'react';

import { CodeInserter } from '../snippets';
import { IStorageElement, IWp5Error } from '../tokens';
import { ErrorBanner } from './ErrorBanner';

/** The lifetimes offered for a copy; null is no expiry. */
export const LIFETIMES: ReadonlyArray<{
  label: string;
  seconds: number | null;
}> = [
  { label: '1 day', seconds: 86400 },
  { label: '7 days', seconds: 7 * 86400 },
  { label: '30 days', seconds: 30 * 86400 },
  { label: 'no expiry', seconds: null }
];

/** Props of {@link MakeAvailable}. */
export interface IMakeAvailableProps {
  did: string;
  rses: ReadonlyArray<IStorageElement>;
  /** A copy of this DID is being requested. */
  submitting: boolean;
  /** The server's refusal of the last request for this DID. */
  error: IWp5Error | null;
  onRequest: (rse: string, lifetime: number | null) => void;
  /** Makes the fileset snippet for a site (``filesetCode``). */
  filesetCode: (rse: string) => string;
  insertCode: CodeInserter;
  /** The site chosen at first (the community's default storage element), when writable. */
  preferred?: string | null;
}

/** "Make available at [site] for [lifetime]" and "Copy fileset code" for one dataset. */
export function MakeAvailable(props: IMakeAvailableProps): JSX.Element {
  const { rses, submitting, error } = props;
  const writable = rses.filter(r => r.availability_write);
  const [rse, setRse] = React.useState('');
  const [lifetime, setLifetime] = React.useState(1);
  const [note, setNote] = React.useState('');
  const preferred = writable.find(r => r.name === props.preferred)?.name;
  const site = rse || preferred || writable[0]?.name || '';

  const copyCode = async () => {
    const where = await props.insertCode(props.filesetCode(site));
    setNote(
      where === 'notebook'
        ? 'Inserted into the notebook.'
        : 'Copied to the clipboard.'
    );
  };

  return (
    <div className="wp5-make-available-form" data-testid="wp5-make-available">
      <div className="wp5-form-row">
        <label>
          Make available at{' '}
          <select
            className="wp5-site-select jp-mod-styled"
            value={site}
            onChange={e => setRse(e.currentTarget.value)}
            aria-label="Site"
          >
            {rses.map(r => (
              <option
                key={r.name}
                value={r.name}
                disabled={!r.availability_write}
              >
                {r.name}
              </option>
            ))}
          </select>
        </label>{' '}
        <label>
          for{' '}
          <select
            className="wp5-lifetime-select jp-mod-styled"
            value={lifetime}
            onChange={e => setLifetime(Number(e.currentTarget.value))}
            aria-label="Lifetime"
          >
            {LIFETIMES.map((l, i) => (
              <option key={l.label} value={i}>
                {l.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="wp5-form-row">
        <button
          className="wp5-make-available jp-mod-styled jp-mod-accept"
          disabled={!site || submitting}
          onClick={() => props.onRequest(site, LIFETIMES[lifetime].seconds)}
        >
          {submitting ? 'Requesting\u2026' : 'Make available'}
        </button>
        <button
          className="wp5-copy-fileset jp-mod-styled"
          disabled={!site}
          title="Insert code that builds the coffea fileset into the active notebook"
          onClick={() => void copyCode()}
        >
          Copy fileset code
        </button>
      </div>
      {note && <div className="wp5-note">{note}</div>}
      {error && <ErrorBanner error={error} />}
    </div>
  );
}
