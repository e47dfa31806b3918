/** Puts the panel's code into a new cell of the active notebook, or on the clipboard. */
import { Clipboard } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';

import { CodeDestination, CodeInserter } from './snippets';

/**
 * An inserter that adds a code cell below the active cell of the current notebook, or copies to
 * the clipboard when there is no notebook (or no tracker).
 */
export function notebookInserter(
  tracker: INotebookTracker | null
): CodeInserter {
  return async (code: string): Promise<CodeDestination> => {
    const panel = tracker?.currentWidget;
    if (!panel) {
      Clipboard.copyToSystem(code);
      return 'clipboard';
    }
    await panel.context.ready;
    const notebook = panel.content;
    NotebookActions.insertBelow(notebook);
    if (notebook.activeCell?.model.type !== 'code') {
      NotebookActions.changeCellType(notebook, 'code');
    }
    notebook.activeCell?.model.sharedModel.setSource(code);
    return 'notebook';
  };
}
