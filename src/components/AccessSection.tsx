import * as React from 'react';

import { AccessModel } from '../access';
import {
  IAccessRequest,
  IGrantRequest,
  ILedgerCheckpoint,
  IWp5Error
} from '../tokens';
import { ErrorBanner } from './ErrorBanner';

/** The grant lengths a steward may pick. */
export const GRANT_DAYS: ReadonlyArray<number> = [1, 7, 30, 90];

/** An expiry ``days`` from ``now``, as RFC 3339. */
export function expiryIn(days: number, now: Date = new Date()): string {
  return new Date(now.getTime() + days * 86400_000).toISOString();
}

/** Props of {@link AccessSection}. */
export interface IAccessSectionProps {
  model: AccessModel;
}

/**
 * The "Access" section: ask for access to another community's data, the account's requests, the
 * requests waiting for it as a steward, and the ledger's latest checkpoint.
 */
export function AccessSection(props: IAccessSectionProps): JSX.Element {
  const { model } = props;
  const { state } = model;
  return (
    <div className="wp5-access-section" data-testid="wp5-access">
      {state.error && <ErrorBanner error={state.error} />}
      <CheckpointBadge
        checkpoint={state.checkpoint}
        error={state.checkpointError}
      />
      <AskForm
        asking={state.asking}
        error={state.askError}
        onAsk={(did, purpose) => model.ask(did, purpose)}
      />
      <h4 className="wp5-subtitle">My requests</h4>
      {state.mine.length === 0 ? (
        <div className="wp5-empty">No access request.</div>
      ) : (
        <ul className="wp5-access-list" data-testid="wp5-access-mine">
          {[...state.mine].reverse().map(request => (
            <li
              key={request.id}
              className="wp5-access-row"
              data-testid="wp5-access-row"
              data-request-id={request.id}
            >
              <RequestLine request={request} />
              <div className="wp5-access-purpose">
                {state.purposes[request.id]
                  ? `Purpose: ${state.purposes[request.id].purpose}`
                  : 'Purpose kept where it was asked'}
              </div>
            </li>
          ))}
        </ul>
      )}
      {state.stewarded.length > 0 && (
        <>
          <h4 className="wp5-subtitle">Waiting for me as a steward</h4>
          <ul className="wp5-access-list" data-testid="wp5-access-stewarded">
            {[...state.stewarded].reverse().map(request => (
              <StewardRow
                key={request.id}
                request={request}
                busy={state.busy.includes(request.id)}
                error={state.rowErrors[request.id] ?? null}
                onGrant={grant => void model.grant(request.id, grant)}
                onDeny={() => void model.deny(request.id)}
                onRevoke={() => void model.revoke(request.id)}
              />
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

/** State, DID, requester and expiry of one request. */
function RequestLine(props: {
  request: IAccessRequest;
  requester?: boolean;
}): JSX.Element {
  const { request, requester } = props;
  return (
    <div className="wp5-access-line">
      <span
        className={`wp5-state wp5-access-status wp5-state-${request.status}`}
        data-testid="wp5-access-status"
      >
        {request.status}
      </span>{' '}
      <span className="wp5-access-did" title={request.did}>
        {request.did}
      </span>
      {requester && (
        <span className="wp5-access-requester"> by {request.requester}</span>
      )}
      {request.expires && (
        <span className="wp5-access-expires"> until {request.expires}</span>
      )}
      {request.rses.length > 0 && (
        <span className="wp5-access-rses"> at {request.rses.join(', ')}</span>
      )}
    </div>
  );
}

/** A request on the steward's data: grant (expiry, storage elements), deny, revoke. */
function StewardRow(props: {
  request: IAccessRequest;
  busy: boolean;
  error: IWp5Error | null;
  onGrant: (grant: IGrantRequest) => void;
  onDeny: () => void;
  onRevoke: () => void;
}): JSX.Element {
  const { request, busy, error } = props;
  const [days, setDays] = React.useState(GRANT_DAYS[1]);
  const [rses, setRses] = React.useState('');
  const grant = () => {
    const only = rses
      .split(',')
      .map(r => r.trim())
      .filter(Boolean);
    props.onGrant({
      expires: expiryIn(days),
      ...(only.length ? { rses: only } : {})
    });
  };
  return (
    <li
      className="wp5-access-row"
      data-testid="wp5-steward-row"
      data-request-id={request.id}
    >
      <RequestLine request={request} requester />
      {request.status === 'pending' && (
        <div className="wp5-form-row">
          <label>
            for{' '}
            <select
              className="wp5-grant-days jp-mod-styled"
              aria-label="Grant length"
              value={days}
              onChange={e => setDays(Number(e.currentTarget.value))}
            >
              {GRANT_DAYS.map(d => (
                <option key={d} value={d}>
                  {d === 1 ? '1 day' : `${d} days`}
                </option>
              ))}
            </select>
          </label>{' '}
          <TextField
            className="wp5-grant-rses"
            label="Only at storage elements"
            placeholder="anywhere (or SITE-C, ...)"
            value={rses}
            onChange={setRses}
          />
          <button
            className="wp5-grant jp-mod-styled jp-mod-accept"
            disabled={busy}
            onClick={grant}
          >
            Grant
          </button>
          <button
            className="wp5-deny jp-mod-styled jp-mod-reject"
            disabled={busy}
            onClick={props.onDeny}
          >
            Deny
          </button>
        </div>
      )}
      {request.status === 'granted' && (
        <div className="wp5-form-row">
          <button
            className="wp5-revoke jp-mod-styled jp-mod-warn"
            disabled={busy}
            title="End the grant and the copies made under it"
            onClick={props.onRevoke}
          >
            Revoke
          </button>
        </div>
      )}
      {error && <ErrorBanner error={error} />}
    </li>
  );
}

/** A labelled one-line text input. */
function TextField(props: {
  className: string;
  label: string;
  placeholder: string;
  value: string;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <input
      className={`${props.className} jp-mod-styled`}
      aria-label={props.label}
      placeholder={props.placeholder}
      value={props.value}
      onChange={e => props.onChange(e.currentTarget.value)}
    />
  );
}

/** "Ask for access to [DID] for [purpose]". */
function AskForm(props: {
  asking: boolean;
  error: IWp5Error | null;
  onAsk: (did: string, purpose: string) => Promise<IAccessRequest | null>;
}): JSX.Element {
  const [did, setDid] = React.useState('');
  const [purpose, setPurpose] = React.useState('');
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (await props.onAsk(did, purpose)) {
      setDid('');
      setPurpose('');
    }
  };
  return (
    <form
      className="wp5-access-ask"
      data-testid="wp5-access-ask"
      onSubmit={e => void submit(e)}
    >
      <TextField
        className="wp5-access-ask-did"
        label="Dataset to ask for"
        placeholder="space:dataset"
        value={did}
        onChange={setDid}
      />
      <TextField
        className="wp5-access-ask-purpose"
        label="Purpose"
        placeholder="what it is for (only you see it)"
        value={purpose}
        onChange={setPurpose}
      />
      <button
        type="submit"
        className="wp5-access-ask-button jp-mod-styled jp-mod-accept"
        disabled={props.asking || !did.trim() || !purpose.trim()}
      >
        {props.asking ? 'Asking\u2026' : 'Ask for access'}
      </button>
      {props.error && <ErrorBanner error={props.error} />}
    </form>
  );
}

/** The ledger's latest checkpoint: verified (tree size, signers) or failed (why). */
export function CheckpointBadge(props: {
  checkpoint: ILedgerCheckpoint | null;
  error: IWp5Error | null;
}): JSX.Element | null {
  const { checkpoint, error } = props;
  if (error) {
    return (
      <div className="wp5-ledger" data-testid="wp5-ledger">
        <span className="wp5-badge wp5-badge-unknown">ledger</span>{' '}
        <span className="wp5-ledger-text">{error.message}</span>
      </div>
    );
  }
  if (!checkpoint) {
    return null;
  }
  if (checkpoint.checkpoint === null) {
    // Nothing is checkpointed yet: nothing to verify, and nothing failed.
    return (
      <div className="wp5-ledger" data-testid="wp5-ledger">
        <span className="wp5-badge wp5-badge-unknown">ledger</span>{' '}
        <span className="wp5-ledger-text">No checkpoint yet.</span>
      </div>
    );
  }
  const v = checkpoint.verification;
  const signers = v.operator ? [v.operator, ...v.witnesses].join(', ') : '';
  const text = v.verified
    ? `tree size ${v.tree_size}, signed by ${signers}` +
      (v.keys === 'published' ? ' (keys as the log publishes them)' : '')
    : `${v.tree_size !== null ? `tree size ${v.tree_size}: ` : ''}${v.reason}`;
  return (
    <div
      className="wp5-ledger"
      data-testid="wp5-ledger"
      data-verified={v.verified ? 'true' : 'false'}
    >
      <span
        className={`wp5-badge ${v.verified ? 'wp5-badge-ok' : 'wp5-badge-failed'}`}
        data-testid="wp5-ledger-badge"
      >
        {v.verified ? 'verified' : 'failed'}
      </span>{' '}
      <span className="wp5-ledger-text" title={checkpoint.checkpoint ?? ''}>
        Ledger checkpoint: {text}
      </span>
    </div>
  );
}
