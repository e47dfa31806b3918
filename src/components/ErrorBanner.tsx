import * as React from 'react';

import { IWp5Error } from '../tokens';

/** Props of {@link ErrorBanner}. */
export interface IErrorBannerProps {
  error: IWp5Error;
  /** Called when the user dismisses the banner; no close button when absent. */
  onDismiss?: () => void;
}

/** The server's error message, in place of the content that failed. */
export function ErrorBanner(props: IErrorBannerProps): JSX.Element {
  const { error, onDismiss } = props;
  const detail = error.status
    ? `${error.code}, HTTP ${error.status}`
    : error.code;
  return (
    <div className="wp5-error" role="alert" data-testid="wp5-error">
      <span className="wp5-error-message">{error.message}</span>
      <span className="wp5-error-code">{detail}</span>
      {onDismiss && (
        <button
          className="wp5-error-dismiss"
          title="Dismiss"
          aria-label="Dismiss"
          onClick={onDismiss}
        >
          {'\u00d7'}
        </button>
      )}
    </div>
  );
}
