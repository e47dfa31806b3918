/**
 * The wp5 side panel: a JupyterLab SidePanel whose accordion holds one widget per section:
 * "Data" (search, details, make available), "Transfers", "Clusters" and "Access".
 */
import * as React from 'react';

import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { SidePanel } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { SplitLayout, Widget } from '@lumino/widgets';

import { AccessModel } from './access';
import { ClustersModel } from './clusters';
import { AccessSection } from './components/AccessSection';
import { ClustersSection } from './components/ClustersSection';
import { DataSection } from './components/DataSection';
import { TransfersSection } from './components/TransfersSection';
import { wp5Icon } from './icons';
import { DataModel } from './model';
import { CodeInserter } from './snippets';
import { PANEL_ID } from './tokens';
import { TransfersModel } from './transfers';

/** The "Data" section: search, results and dataset details, re-rendered on model changes. */
export class DataSectionWidget extends ReactWidget {
  constructor(
    readonly model: DataModel,
    readonly transfers?: TransfersModel,
    readonly insertCode?: CodeInserter
  ) {
    super();
    this.id = 'wp5-data-section';
    this.addClass('wp5-section');
    this.title.label = 'Data';
    this.title.caption = 'Search the data catalogue';
  }

  protected render(): JSX.Element {
    const section = () => (
      <DataSection
        model={this.model}
        transfers={this.transfers}
        insertCode={this.insertCode}
      />
    );
    return (
      <UseSignal signal={this.model.stateChanged}>
        {() =>
          this.transfers ? (
            <UseSignal signal={this.transfers.stateChanged}>
              {section}
            </UseSignal>
          ) : (
            section()
          )
        }
      </UseSignal>
    );
  }
}

/**
 * A section whose model polls only while it is on screen: Lumino sends after-show/after-hide
 * when the accordion entry is expanded or collapsed and when the whole side panel is shown or
 * hidden.
 */
abstract class LiveSectionWidget extends ReactWidget {
  constructor() {
    super();
    this.addClass('wp5-live-section');
  }

  /** Tell the model whether anyone can see the section. */
  protected abstract setLive(live: boolean): void;

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.setLive(this.isVisible);
  }

  protected onBeforeDetach(msg: Message): void {
    this.setLive(false);
    super.onBeforeDetach(msg);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.setLive(true);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.setLive(false);
  }
}

/** The "Transfers" section: the user's copy requests with their progress. */
export class TransfersSectionWidget extends LiveSectionWidget {
  constructor(readonly model: TransfersModel) {
    super();
    this.id = 'wp5-transfers-section';
    this.addClass('wp5-section');
    this.title.label = 'Transfers';
    this.title.caption = 'Copies requested and their progress';
  }

  protected setLive(live: boolean): void {
    this.model.setVisible(live);
  }

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this.model.stateChanged}>
        {() => <TransfersSection model={this.model} />}
      </UseSignal>
    );
  }
}

/** The "Clusters" section: profiles, create, and the running clusters. */
export class ClustersSectionWidget extends LiveSectionWidget {
  constructor(
    readonly model: ClustersModel,
    readonly insertCode: CodeInserter
  ) {
    super();
    this.id = 'wp5-clusters-section';
    this.addClass('wp5-section');
    this.title.label = 'Clusters';
    this.title.caption = 'Dask clusters on CPU, GPU and ARM workers';
  }

  protected setLive(live: boolean): void {
    this.model.setVisible(live);
  }

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this.model.stateChanged}>
        {() => (
          <ClustersSection model={this.model} insertCode={this.insertCode} />
        )}
      </UseSignal>
    );
  }
}

/** The "Access" section: my requests, those waiting for me as a steward, the ledger. */
export class AccessSectionWidget extends LiveSectionWidget {
  constructor(readonly model: AccessModel) {
    super();
    this.id = 'wp5-access-section';
    this.addClass('wp5-section');
    this.title.label = 'Access';
    this.title.caption =
      "Access to other communities' data, and the access ledger";
  }

  protected setLive(live: boolean): void {
    this.model.setVisible(live);
  }

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this.model.stateChanged}>
        {() => <AccessSection model={this.model} />}
      </UseSignal>
    );
  }
}

export namespace Wp5Panel {
  export interface IOptions {
    model: DataModel;
    /** With both of these the panel has its "Transfers" and "Clusters" sections. */
    transfers?: TransfersModel;
    clusters?: ClustersModel;
    /** The "Access" section's model; no such section without it. */
    access?: AccessModel;
    /** Where "copy fileset code" and "insert client code" put their code. */
    insertCode?: CodeInserter;
  }
}

/** How much more room than another section the Data section gets when several are open. */
const DATA_STRETCH = 3;

/** The side panel itself. */
export class Wp5Panel extends SidePanel {
  constructor(options: Wp5Panel.IOptions) {
    super();
    this.id = PANEL_ID;
    this.addClass('wp5-panel');
    this.title.icon = wp5Icon;
    this.title.caption = 'WP5: data and compute';
    this.model = options.model;

    const heading = new Widget();
    heading.addClass('wp5-panel-heading');
    heading.node.textContent = 'WP5 analysis facility';
    this.header.addWidget(heading);

    const { transfers, clusters, access, insertCode } = options;
    const data = new DataSectionWidget(this.model, transfers, insertCode);
    // With every section open, the search results get most of the room; a lone open section
    // takes all of it.
    SplitLayout.setStretch(data, DATA_STRETCH);
    this.addSection(data);
    if (transfers) {
      this.addSection(new TransfersSectionWidget(transfers));
    }
    if (clusters && insertCode) {
      this.addSection(new ClustersSectionWidget(clusters, insertCode));
    }
    if (access) {
      this.addSection(new AccessSectionWidget(access));
    }
  }

  readonly model: DataModel;

  /** Add a section (an accordion entry) at the bottom, or at ``index``. */
  addSection(section: Widget, index?: number): void {
    if (index === undefined) {
      this.addWidget(section);
    } else {
      this.insertWidget(index, section);
    }
  }
}
