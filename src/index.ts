import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IStateDB } from '@jupyterlab/statedb';

import { AccessModel } from './access';
import { ClustersModel } from './clusters';
import { EventsConnection } from './events';
import { wp5Icon } from './icons';
import { notebookInserter } from './inserter';
import { DataModel } from './model';
import { Wp5Panel } from './panel';
import { TransfersModel } from './transfers';
import { CommandIDs, IDataModel } from './tokens';

/** The panel's rank in the left sidebar (after the file browser, running, git, ...). */
const PANEL_RANK = 900;

/** Adds the wp5 panel to the left sidebar and provides its data model. */
const panelPlugin: JupyterFrontEndPlugin<IDataModel> = {
  id: 'jupyter-wp5:panel',
  description:
    'The WP5 side panel: search the data catalogue, move data next to the compute, run Dask clusters.',
  autoStart: true,
  provides: IDataModel,
  optional: [ILayoutRestorer, ICommandPalette, INotebookTracker, IStateDB],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null,
    store: IStateDB | null
  ): IDataModel => {
    // One events socket for the panel; its models poll only while it is closed.
    const events = new EventsConnection();
    // The chosen community and the purposes asked with are kept in the state database.
    const model = new DataModel({ events, store });
    const panel = new Wp5Panel({
      model,
      transfers: new TransfersModel({ events }),
      clusters: new ClustersModel({ events }),
      access: new AccessModel({ events, store }),
      insertCode: notebookInserter(notebooks)
    });
    void model.loadCommunities();
    panel.disposed.connect(() => events.dispose());
    events.connect();
    app.shell.add(panel, 'left', { rank: PANEL_RANK });
    if (restorer) {
      restorer.add(panel, panel.id);
    }

    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'Open the WP5 Panel',
      caption: 'Show the WP5 data and compute panel in the left sidebar',
      icon: args => (args['isPalette'] ? undefined : wp5Icon),
      execute: () => {
        app.shell.activateById(panel.id);
      }
    });
    if (palette) {
      palette.addItem({ command: CommandIDs.openPanel, category: 'WP5' });
    }

    return model;
  }
};

export default [panelPlugin];
export * from './tokens';
