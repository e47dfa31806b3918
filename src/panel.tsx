/**
 * The wp5 side panel: a JupyterLab SidePanel whose accordion holds one widget per section.
 * This slice has the "Data" section; "Replicas" and "Clusters" are added the same way.
 */
import * as React from 'react';

import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { SidePanel } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { DataSection } from './components/DataSection';
import { wp5Icon } from './icons';
import { DataModel } from './model';
import { PANEL_ID } from './tokens';

/** The "Data" section: search, results and dataset details, re-rendered on model changes. */
export class DataSectionWidget extends ReactWidget {
  constructor(readonly model: DataModel) {
    super();
    this.id = 'wp5-data-section';
    this.addClass('wp5-section');
    this.title.label = 'Data';
    this.title.caption = 'Search the data catalogue';
  }

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this.model.stateChanged}>
        {() => <DataSection model={this.model} />}
      </UseSignal>
    );
  }
}

export namespace Wp5Panel {
  export interface IOptions {
    model: DataModel;
  }
}

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

    this.addSection(new DataSectionWidget(this.model));
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
