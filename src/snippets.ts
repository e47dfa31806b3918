/**
 * The notebook code the panel hands out. Where it goes (a notebook cell, the clipboard) is
 * ``./inserter``'s business, so the components need no notebook package.
 */

/** Where a snippet went. */
export type CodeDestination = 'notebook' | 'clipboard';

/** Puts a snippet where the user can run it; the panel's components get one as a prop. */
export type CodeInserter = (code: string) => Promise<CodeDestination>;

/** A Python string literal (JSON's escapes are Python's for these characters). */
function pyString(text: string): string {
  return JSON.stringify(text);
}

/** Code that builds the coffea fileset of ``did`` read from storage element ``rse``. */
export function filesetCode(did: string, rse: string): string {
  return (
    'import jupyter_wp5 as wp5\n' +
    `fileset = wp5.fileset(${pyString(did)}, rse=${pyString(rse)})`
  );
}

/** Code that connects a Dask client to the cluster called ``name``. */
export function clientCode(name: string): string {
  return (
    'import jupyter_wp5 as wp5\n' +
    `client = wp5.cluster(${pyString(name)}).get_client()`
  );
}
