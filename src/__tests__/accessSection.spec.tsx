import * as React from 'react';
import { createRoot, Root } from 'react-dom/client';

import * as api from '../api';
import { ResponseError } from '../api';
import { AccessModel } from '../access';
import { AccessSection, expiryIn } from '../components/AccessSection';
import { CommunitySelect } from '../components/CommunitySelect';
import { DatasetDetailsView } from '../components/DatasetDetails';
import { initialDetailsState } from '../model';
import {
  IAccessRequest,
  ICommunityState,
  IDatasetDetails,
  IDeepCount,
  ILedgerCheckpoint
} from '../tokens';

import { accessRequest } from './fixtures';

jest.mock('../api', () => jest.requireActual('./mockApi').mockedApi());

const mocked = <T extends (...args: any[]) => any>(f: T) =>
  f as jest.MockedFunction<T>;

(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

function checkpoint(verified: boolean): ILedgerCheckpoint {
  return {
    checkpoint: 'note',
    verifier_keys: [],
    verification: verified
      ? {
          verified: true,
          tree_size: 12,
          operator: 'wp5-log',
          witnesses: ['inaf-witness', 'leonardo-witness'],
          keys: 'configured',
          reason: null
        }
      : {
          verified: false,
          tree_size: 12,
          operator: null,
          witnesses: [],
          keys: 'configured',
          reason:
            'the checkpoint lacks the signature of witness leonardo-witness'
        }
  };
}

function mount(element: () => JSX.Element, model?: AccessModel) {
  const container = document.createElement('div');
  document.body.appendChild(container);
  const root: Root = createRoot(container);
  const render = () => root.render(element());
  model?.stateChanged.connect(() => React.act(render));
  React.act(render);
  return { container, root };
}

async function loaded(
  mine: IAccessRequest[],
  stewarded: IAccessRequest[],
  verified = true
): Promise<AccessModel> {
  mocked(api.access.overview).mockResolvedValue({
    account: 'inaf-steward',
    communities: ['inaf'],
    mine,
    stewarded
  });
  mocked(api.access.checkpoint).mockResolvedValue(checkpoint(verified));
  const model = new AccessModel();
  await model.refresh();
  return model;
}

beforeEach(() => {
  for (const f of Object.values(api.access)) {
    mocked(f as (...args: any[]) => any).mockReset();
  }
});

describe('AccessSection', () => {
  it('shows the verified badge with the tree size and the signers', async () => {
    const model = await loaded([], []);
    const { container, root } = mount(
      () => <AccessSection model={model} />,
      model
    );
    const ledger = container.querySelector('[data-testid="wp5-ledger"]')!;
    expect(ledger.getAttribute('data-verified')).toBe('true');
    expect(ledger.textContent).toContain('verified');
    expect(ledger.textContent).toContain(
      'tree size 12, signed by wp5-log, inaf-witness, leonardo-witness'
    );
    React.act(() => root.unmount());
    model.dispose();
  });

  it('shows a failed badge with the reason', async () => {
    const model = await loaded([], [], false);
    const { container, root } = mount(
      () => <AccessSection model={model} />,
      model
    );
    const badge = container.querySelector('[data-testid="wp5-ledger-badge"]')!;
    expect(badge.textContent).toBe('failed');
    expect(
      container.querySelector('[data-testid="wp5-ledger"]')!.textContent
    ).toContain(
      'tree size 12: the checkpoint lacks the signature of witness leonardo-witness'
    );
    React.act(() => root.unmount());
    model.dispose();
  });

  it("a steward grants with an expiry and storage elements; a 403 shows the server's message", async () => {
    const model = await loaded([], [accessRequest('r1')]);
    const { container, root } = mount(
      () => <AccessSection model={model} />,
      model
    );
    const row = container.querySelector('[data-testid="wp5-steward-row"]')!;
    expect(row.textContent).toContain('by leonardo-user');
    const input = row.querySelector('.wp5-grant-rses') as HTMLInputElement;
    const setter = Object.getOwnPropertyDescriptor(
      HTMLInputElement.prototype,
      'value'
    )!.set!;
    React.act(() => {
      setter.call(input, 'SITE-C, SITE-B');
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    const message =
      'Rucio does not allow this: inaf-steward may not grant here';
    mocked(api.access.grant).mockRejectedValue(
      new ResponseError(403, 'forbidden', message)
    );
    const before = Date.now();
    await React.act(async () => {
      (row.querySelector('.wp5-grant') as HTMLButtonElement).click();
    });
    const [id, grant] = mocked(api.access.grant).mock.calls[0];
    expect(id).toBe('r1');
    expect(grant.rses).toEqual(['SITE-C', 'SITE-B']);
    // The default length: 7 days from now.
    const days = (Date.parse(grant.expires) - before) / 86400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThan(7.01);
    const banner = row.querySelector('[data-testid="wp5-error"]')!;
    expect(banner.textContent).toContain(message);
    expect(banner.textContent).toContain('forbidden, HTTP 403');
    React.act(() => root.unmount());
    model.dispose();
  });

  it('says when there is no checkpoint yet, without a failed badge', async () => {
    mocked(api.access.overview).mockResolvedValue({
      account: 'leonardo-user',
      communities: ['leonardo'],
      mine: [],
      stewarded: []
    });
    mocked(api.access.checkpoint).mockResolvedValue({
      checkpoint: null,
      verifier_keys: [],
      verification: {
        verified: false,
        tree_size: null,
        operator: null,
        witnesses: [],
        keys: 'configured',
        reason: 'the ledger has no checkpoint yet'
      }
    });
    const model = new AccessModel();
    await model.refresh();
    const { container, root } = mount(
      () => <AccessSection model={model} />,
      model
    );
    expect(
      container.querySelector('[data-testid="wp5-ledger"]')!.textContent
    ).toBe('ledger No checkpoint yet.');
    expect(
      container.querySelector('[data-testid="wp5-ledger-badge"]')
    ).toBeNull();
    React.act(() => root.unmount());
    model.dispose();
  });

  it('offers revoke on a granted request and no decision on a denied one', async () => {
    const model = await loaded(
      [],
      [
        accessRequest('r1', { status: 'granted' }),
        accessRequest('r2', { status: 'denied' })
      ]
    );
    const { container, root } = mount(
      () => <AccessSection model={model} />,
      model
    );
    const rows = container.querySelectorAll('[data-testid="wp5-steward-row"]');
    const byId = (id: string) =>
      Array.from(rows).find(r => r.getAttribute('data-request-id') === id)!;
    expect(byId('r1').querySelector('.wp5-revoke')).not.toBeNull();
    expect(byId('r1').querySelector('.wp5-grant')).toBeNull();
    expect(byId('r2').querySelector('button')).toBeNull();
    React.act(() => root.unmount());
    model.dispose();
  });

  it("shows the list's 403 as a banner, not a stack", async () => {
    mocked(api.access.overview).mockRejectedValue(
      new ResponseError(403, 'forbidden', 'not allowed to read wp5')
    );
    mocked(api.access.checkpoint).mockResolvedValue(checkpoint(true));
    const model = new AccessModel();
    await model.refresh();
    const { container, root } = mount(
      () => <AccessSection model={model} />,
      model
    );
    const banner = container.querySelector('[data-testid="wp5-error"]')!;
    expect(banner.textContent).toBe(
      'not allowed to read wp5forbidden, HTTP 403'
    );
    React.act(() => root.unmount());
    model.dispose();
  });

  it('expiryIn counts days from now', () => {
    expect(expiryIn(1, new Date('2026-12-02T07:00:00Z'))).toBe(
      '2026-12-03T07:00:00.000Z'
    );
  });
});

describe('CommunitySelect', () => {
  const state: ICommunityState = {
    communities: [
      {
        name: 'inaf',
        scopes: ['space'],
        stewards: [],
        accounts: [],
        rses: ['SITE-A'],
        profiles: []
      },
      {
        name: 'leonardo',
        scopes: [],
        stewards: [],
        accounts: [],
        rses: ['SITE-C'],
        profiles: []
      }
    ],
    memberOf: ['inaf'],
    selected: 'inaf',
    grantedScopes: [],
    error: null
  };

  it("offers only the account's communities and names the scopes and the site", () => {
    const onChange = jest.fn();
    const { container, root } = mount(() => (
      <CommunitySelect state={state} onChange={onChange} />
    ));
    const options = Array.from(container.querySelectorAll('option'));
    expect(options.map(o => [o.value, o.disabled])).toEqual([
      ['', false],
      ['inaf', false],
      ['leonardo', true]
    ]);
    expect(
      container.querySelector('[data-testid="wp5-community-note"]')!.textContent
    ).toBe('Searches space; copies go to SITE-A.');
    const select = container.querySelector('select') as HTMLSelectElement;
    React.act(() => {
      select.value = '';
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(onChange).toHaveBeenCalledWith(null);
    React.act(() => root.unmount());
  });
});

describe('DatasetDetailsView exact counts', () => {
  const details: IDatasetDetails = {
    did: 'archive:big',
    scope: 'archive',
    name: 'big',
    type: 'container',
    bytes: 1000,
    files: 100000,
    copies: [],
    rules: [],
    metadata: {},
    summary: true,
    deep: null
  };
  const deep = (overrides: Partial<IDeepCount>): IDeepCount => ({
    did: 'archive:big',
    state: 'running',
    files_done: 2500,
    files_total: 10000,
    datasets_done: 25,
    datasets_total: 100,
    cap: 1000,
    cap_setting: 'DetailsService.max_datasets',
    message: null,
    ...overrides
  });

  function view(state: Partial<ReturnType<typeof initialDetailsState>>) {
    const onCount = jest.fn();
    const mounted = mount(() => (
      <DatasetDetailsView
        state={{
          ...initialDetailsState(),
          selected: 'archive:big',
          details,
          ...state
        }}
        onRefresh={() => undefined}
        onClose={() => undefined}
        onCountExactly={onCount}
      />
    ));
    return { ...mounted, onCount };
  }

  it("labels Rucio's summary and asks for exact counts", () => {
    const { container, root, onCount } = view({});
    expect(
      container.querySelector('[data-testid="wp5-exact-source"]')!.textContent
    ).toBe("Counts: Rucio's summary");
    React.act(() =>
      (
        container.querySelector('.wp5-exact-button') as HTMLButtonElement
      ).click()
    );
    expect(onCount).toHaveBeenCalledTimes(1);
    React.act(() => root.unmount());
  });

  it('shows the progress while counting, without the button', () => {
    const { container, root } = view({ deep: deep({}) });
    expect(container.querySelector('.wp5-exact-button')).toBeNull();
    expect(
      container.querySelector('[data-testid="wp5-exact-progress"]')!.textContent
    ).toBe('Counting: 2,500 of 10,000 files, 25 of 100 datasets\u2026');
    expect(
      container
        .querySelector('[role="progressbar"]')!
        .getAttribute('aria-valuenow')
    ).toBe('25');
    React.act(() => root.unmount());
  });

  it('names the cap and its setting when the count was capped', () => {
    const { container, root } = view({
      details: { ...details, summary: false },
      deep: deep({ state: 'capped', datasets_done: 1000 })
    });
    expect(
      container.querySelector('[data-testid="wp5-exact-source"]')!.textContent
    ).toBe('Counts: exact, file by file');
    expect(
      container.querySelector('[data-testid="wp5-exact-cap"]')!.textContent
    ).toBe(
      "Exact over the first 1,000 datasets only (the server's DetailsService.max_datasets)."
    );
    React.act(() => root.unmount());
  });
});
