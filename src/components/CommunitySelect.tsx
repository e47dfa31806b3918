import * as React from 'react';

import { ICommunityState } from '../tokens';

/** Props of {@link CommunitySelect}. */
export interface ICommunitySelectProps {
  state: ICommunityState;
  onChange: (name: string | null) => void;
}

/**
 * "Work as [community]" (like ``%wp5 use``): a bare search pattern then searches its scopes and
 * those of the account's live grants, and copies go to its first storage element. Only the
 * communities the account belongs to can be chosen. Nothing shows when none is configured.
 */
export function CommunitySelect(
  props: ICommunitySelectProps
): JSX.Element | null {
  const { state, onChange } = props;
  if (state.communities.length === 0) {
    return null;
  }
  const chosen = state.communities.find(c => c.name === state.selected);
  const scopes = chosen
    ? [...new Set([...chosen.scopes, ...state.grantedScopes])]
    : [];
  return (
    <div className="wp5-community" data-testid="wp5-community">
      <label>
        Work as{' '}
        <select
          className="wp5-community-select jp-mod-styled"
          aria-label="Community"
          value={state.selected ?? ''}
          onChange={e => onChange(e.currentTarget.value || null)}
        >
          <option value="">no community (search scope:pattern)</option>
          {state.communities.map(c => (
            <option
              key={c.name}
              value={c.name}
              disabled={!state.memberOf.includes(c.name)}
            >
              {c.name}
            </option>
          ))}
        </select>
      </label>
      {chosen && (
        <div className="wp5-community-note" data-testid="wp5-community-note">
          Searches {scopes.join(', ') || 'no scope yet'}; copies go to{' '}
          {chosen.rses[0] ?? 'the site you pick'}.
        </div>
      )}
    </div>
  );
}
