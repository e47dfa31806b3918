import * as React from 'react';
import { createRoot, Root } from 'react-dom/client';

import * as api from '../api';
import { ResponseError } from '../api';
import { ClustersModel } from '../clusters';
import { ClustersSection } from '../components/ClustersSection';
import { DataSection } from '../components/DataSection';
import { TransfersSection } from '../components/TransfersSection';
import { DataModel } from '../model';
import { Wp5Panel } from '../panel';
import { clientCode, CodeInserter, filesetCode } from '../snippets';
import { AccordionPanel, Widget } from '@lumino/widgets';

import { IDatasetDetails } from '../tokens';
import { TransfersModel } from '../transfers';
import { cluster, profile, progress, rse } from './fixtures';

jest.mock('../api', () => jest.requireActual('./mockApi').mockedApi());

const mocked = <T extends (...args: any[]) => any>(f: T) =>
  f as jest.MockedFunction<T>;

(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

const DID = 'cms:TTTo2L2Nu_NanoAODv9';
const DETAILS: IDatasetDetails = {
  did: DID,
  scope: 'cms',
  name: 'TTTo2L2Nu_NanoAODv9',
  type: 'dataset',
  bytes: 4000000,
  files: 4,
  copies: [],
  rules: [],
  metadata: {}
};

/** Render ``element()`` into the document, again on every ``signal`` emission. */
function mount(
  element: () => JSX.Element,
  signals: { connect: (f: () => void) => unknown }[]
): { container: HTMLElement; root: Root } {
  const container = document.createElement('div');
  document.body.appendChild(container);
  const root = createRoot(container);
  const render = () => root.render(element());
  for (const signal of signals) {
    signal.connect(() => React.act(render));
  }
  React.act(render);
  return { container, root };
}

function select(node: Element | null, value: string): void {
  const el = node as HTMLSelectElement;
  React.act(() => {
    el.value = value;
    el.dispatchEvent(new Event('change', { bubbles: true }));
  });
}

function type(node: Element | null, value: string): void {
  const input = node as HTMLInputElement;
  // React listens to the native value setter, not to a plain assignment.
  const setter = Object.getOwnPropertyDescriptor(
    HTMLInputElement.prototype,
    'value'
  )?.set;
  React.act(() => {
    setter?.call(input, value);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

async function click(node: Element | null): Promise<void> {
  await React.act(async () => {
    (node as HTMLElement).click();
  });
}

beforeEach(() => {
  jest.clearAllMocks();
});

describe('snippets', () => {
  it('writes the fileset and client code the brief asks for', () => {
    expect(filesetCode(DID, 'SITE-B')).toBe(
      'import jupyter_wp5 as wp5\n' +
        'fileset = wp5.fileset("cms:TTTo2L2Nu_NanoAODv9", rse="SITE-B")'
    );
    expect(clientCode('wp5-1')).toBe(
      'import jupyter_wp5 as wp5\nclient = wp5.cluster("wp5-1").get_client()'
    );
  });
});

describe('make available', () => {
  it('requests a copy at the chosen site and lifetime, and inserts fileset code', async () => {
    mocked(api.catalog.describe).mockResolvedValue(DETAILS);
    mocked(api.catalog.rses).mockResolvedValue({
      items: [
        rse('SITE-A'),
        rse('SITE-B'),
        rse('TAPE', { availability_write: false })
      ]
    });
    mocked(api.replicas.request).mockResolvedValue(progress('r1'));
    const insertCode = jest.fn<ReturnType<CodeInserter>, [string]>(
      async () => 'notebook'
    );
    const model = new DataModel();
    const transfers = new TransfersModel();
    const { container, root } = mount(
      () => (
        <DataSection
          model={model}
          transfers={transfers}
          insertCode={insertCode}
        />
      ),
      [model.stateChanged, transfers.stateChanged]
    );
    await React.act(() => model.select(DID));

    const sites = container.querySelector('.wp5-site-select');
    const options = Array.from(sites?.querySelectorAll('option') ?? []);
    expect(options.map(o => [o.value, o.disabled])).toEqual([
      ['SITE-A', false],
      ['SITE-B', false],
      ['TAPE', true]
    ]);
    select(sites, 'SITE-B');
    select(container.querySelector('.wp5-lifetime-select'), '0');
    await click(container.querySelector('.wp5-make-available'));
    expect(api.replicas.request).toHaveBeenCalledWith({
      did: DID,
      rse_expression: 'SITE-B',
      lifetime: 86400
    });
    expect(transfers.state.items.map(i => i.id)).toEqual(['r1']);
    expect(api.catalog.describe).toHaveBeenCalledTimes(2); // the details reload

    await click(container.querySelector('.wp5-copy-fileset'));
    expect(insertCode).toHaveBeenCalledWith(filesetCode(DID, 'SITE-B'));
    expect(container.querySelector('.wp5-note')?.textContent).toContain(
      'notebook'
    );
    React.act(() => root.unmount());
  });

  it("shows the server's refusal in place", async () => {
    mocked(api.catalog.describe).mockResolvedValue(DETAILS);
    mocked(api.catalog.rses).mockResolvedValue({ items: [rse('SITE-B')] });
    mocked(api.replicas.request).mockRejectedValue(
      new ResponseError(409, 'engine_refused', 'quota exceeded on SITE-B')
    );
    const model = new DataModel();
    const transfers = new TransfersModel();
    const { container, root } = mount(
      () => (
        <DataSection
          model={model}
          transfers={transfers}
          insertCode={async () => 'clipboard'}
        />
      ),
      [model.stateChanged, transfers.stateChanged]
    );
    await React.act(() => model.select(DID));
    await click(container.querySelector('.wp5-make-available'));
    const banner = container.querySelector(
      '.wp5-make-available-form .wp5-error'
    );
    expect(banner?.textContent).toContain('quota exceeded on SITE-B');
    expect(banner?.textContent).toContain('HTTP 409');
    React.act(() => root.unmount());
  });
});

describe('TransfersSection', () => {
  it('shows a window of rows with state, progress and cancel', async () => {
    const done = progress('ok', {
      state: 'OK',
      files_ok: 4,
      bytes_ok: 4000000,
      fraction: 1
    });
    const stuckOne = progress('stuck', {
      state: 'STUCK',
      files_stuck: 1,
      error: 'checksum mismatch'
    });
    const transfers = new TransfersModel();
    for (let i = 0; i < 200; i++) {
      transfers.receive({ type: 'replica', data: progress(`x${i}`) });
    }
    const { container, root } = mount(
      () => <TransfersSection model={transfers} />,
      [transfers.stateChanged]
    );
    const rows = container.querySelectorAll('.wp5-transfer-row');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(30); // 202 requests, only a window in the DOM
    const first = rows[0];
    expect(first.getAttribute('aria-busy')).toBe('true'); // REPLICATING
    expect(
      first.querySelector('.wp5-progress')?.getAttribute('aria-valuenow')
    ).toBe('25');
    expect(first.querySelector('.wp5-progress-text')?.textContent).toBe(
      '25% \u00b7 1/4 files \u00b7 1.00 MB of 4.00 MB'
    );

    mocked(api.replicas.cancel).mockRejectedValueOnce(
      new ResponseError(403, 'forbidden', 'the rule is locked')
    );
    await click(first.querySelector('.wp5-transfer-cancel'));
    const id = first.getAttribute('data-id') as string;
    expect(api.replicas.cancel).toHaveBeenCalledWith(id);
    expect(
      container.querySelector(`[data-id="${id}"] .wp5-transfer-error`)
        ?.textContent
    ).toBe('the rule is locked');

    // Extend: 7 days from now, and the row shows the new expiry.
    expect(first.querySelector('.wp5-transfer-expiry')?.textContent).toBe(
      'no expiry'
    );
    mocked(api.replicas.update).mockResolvedValueOnce(
      progress(id, { expires_at: '2026-12-02T21:00:00' })
    );
    await click(first.querySelector('.wp5-transfer-extend'));
    expect(api.replicas.update).toHaveBeenCalledWith(id, { lifetime: '7d' });
    expect(
      container.querySelector(`[data-id="${id}"] .wp5-transfer-expiry`)
        ?.textContent
    ).toBe('until 2026-12-02 21:00');
    React.act(() => root.unmount());

    // A stuck request shows Rucio's error, a complete one a full bar.
    const few = new TransfersModel();
    few.receive({ type: 'replica', data: done });
    few.receive({ type: 'replica', data: stuckOne });
    const second = mount(() => <TransfersSection model={few} />, []);
    const stuck = second.container.querySelector('[data-id="stuck"]');
    expect(stuck?.querySelector('.wp5-state')?.textContent).toBe('STUCK');
    expect(stuck?.querySelector('.wp5-transfer-problem')?.textContent).toBe(
      'checksum mismatch'
    );
    const ok = second.container.querySelector('[data-id="ok"]');
    expect(ok?.querySelector('.wp5-progress-text')?.textContent).toContain(
      '100% \u00b7 4/4 files'
    );
    // Only a request Rucio still moves is busy; a STUCK one waits for a retry.
    expect(ok?.getAttribute('aria-busy')).toBe('false');
    expect(stuck?.getAttribute('aria-busy')).toBe('false');
    React.act(() => second.root.unmount());
  });
});

describe('ClustersSection', () => {
  it('creates from a servable profile, shows the cluster, inserts code, closes', async () => {
    mocked(api.clusters.profiles).mockResolvedValue({
      items: [
        profile('cpu'),
        profile('arm', { servable: false, reason: 'no ARM workers here' })
      ]
    });
    const clusters = new ClustersModel();
    await clusters.loadProfiles();
    clusters.receive({ type: 'cluster', data: cluster('a') });
    mocked(api.clusters.create).mockResolvedValue(
      cluster('bb', { name: 'mine', workers: 2, cores: 2 })
    );
    mocked(api.clusters.close).mockResolvedValue(undefined);
    const insertCode = jest.fn(async (_: string) => 'clipboard' as const);
    const { container, root } = mount(
      () => <ClustersSection model={clusters} insertCode={insertCode} />,
      [clusters.stateChanged]
    );

    const options = Array.from(
      container.querySelectorAll('.wp5-profile-select option')
    ) as HTMLOptionElement[];
    expect(options.map(o => [o.value, o.disabled])).toEqual([
      ['cpu', false],
      ['arm', true]
    ]);
    // The reason is on hover, not repeated in a list under the selector.
    expect(options[1].textContent).toBe('ARM (unavailable)');
    expect(options[1].title).toContain('no ARM workers here');
    expect(container.querySelector('.wp5-profile-reasons')).toBeNull();

    type(container.querySelector('.wp5-workers-input'), '2');
    type(container.querySelector('.wp5-cluster-name'), 'mine');
    await click(container.querySelector('.wp5-cluster-create'));
    expect(api.clusters.create).toHaveBeenCalledWith({
      profile: 'cpu',
      workers: 2,
      name: 'mine'
    });

    const rows = container.querySelectorAll('.wp5-cluster-row');
    expect(Array.from(rows).map(r => r.getAttribute('data-name'))).toEqual([
      'wp5-a',
      'mine'
    ]);
    const mine = rows[1];
    expect(mine.querySelector('.wp5-cluster-workers')?.textContent).toBe(
      '2 workers'
    );
    expect(
      mine.querySelector('.wp5-cluster-dashboard')?.getAttribute('href')
    ).toBe('http://127.0.0.1:8787/status');

    await click(mine.querySelector('.wp5-cluster-code'));
    expect(insertCode).toHaveBeenCalledWith(clientCode('mine'));
    expect(mine.querySelector('.wp5-note')?.textContent).toContain('clipboard');

    await click(mine.querySelector('.wp5-cluster-close'));
    expect(api.clusters.close).toHaveBeenCalledWith('bb');
    expect(container.querySelectorAll('.wp5-cluster-row')).toHaveLength(1);
    React.act(() => root.unmount());
  });
});

describe('Wp5Panel sections', () => {
  it('has Data, Transfers and Clusters with all models', () => {
    const panel = new Wp5Panel({
      model: new DataModel(),
      transfers: new TransfersModel(),
      clusters: new ClustersModel(),
      insertCode: async () => 'clipboard'
    });
    expect(panel.widgets.map(w => w.title.label)).toEqual([
      'Data',
      'Transfers',
      'Clusters'
    ]);
    panel.dispose();
  });

  it('polls clusters only while their section is on screen', async () => {
    mocked(api.clusters.list).mockResolvedValue({ items: [] });
    mocked(api.clusters.profiles).mockResolvedValue({ items: [] });
    mocked(api.replicas.list).mockResolvedValue({ items: [progress('r1')] });
    const transfers = new TransfersModel();
    const clusters = new ClustersModel();
    const panel = new Wp5Panel({
      model: new DataModel(),
      transfers,
      clusters,
      insertCode: async () => 'clipboard'
    });
    React.act(() => Widget.attach(panel, document.body));
    await React.act(async () => undefined);
    expect(api.clusters.list).toHaveBeenCalled();
    expect(clusters.polling).toBe(true);
    expect(transfers.polling).toBe(true); // r1 is still replicating

    React.act(() => panel.hide());
    expect(clusters.polling).toBe(false);
    expect(transfers.polling).toBe(false);
    React.act(() => panel.show());
    expect(clusters.polling).toBe(true);

    // Collapsing the Clusters entry of the accordion stops its poll alone.
    React.act(() => (panel.content as AccordionPanel).collapse(2));
    expect(clusters.polling).toBe(false);
    await React.act(async () => undefined);
    expect(transfers.polling).toBe(true);

    React.act(() => Widget.detach(panel));
    expect(transfers.polling).toBe(false);
    panel.dispose();
  });
});
