/**
 * tokens.ts against the REST contract, jupyter_wp5/openapi.yaml: every wire interface has the
 * properties of its schema, and every property the spec limits to an ``enum`` is typed by a
 * union whose values are that enum's.
 */
import * as ts from 'typescript';

import {
  ACCESS_STATUSES,
  CHECKPOINT_KEY_SOURCES,
  CLUSTER_STATUSES,
  DEEP_STATES,
  DID_TYPE_FILTERS,
  DID_TYPES,
  REPLICA_MODES,
  REPLICA_STATES
} from '../tokens';

declare const __dirname: string;

const fs = jest.requireActual<{
  readFileSync(path: string, encoding: 'utf8'): string;
}>('fs');
const path = jest.requireActual<{ join(...parts: string[]): string }>('path');
const yaml = jest.requireActual<{ load(text: string): unknown }>('js-yaml');

const ROOT = path.join(__dirname, '..', '..');

interface ISchema {
  properties?: { [name: string]: ISchema };
  enum?: string[];
  $ref?: string;
}

interface ISpec {
  paths: {
    [path: string]: {
      [verb: string]: { parameters?: { name: string; schema: ISchema }[] };
    };
  };
  components: { schemas: { [name: string]: ISchema } };
}

const spec = yaml.load(
  fs.readFileSync(path.join(ROOT, 'jupyter_wp5', 'openapi.yaml'), 'utf8')
) as ISpec;

/** The interfaces of tokens.ts: name -> property -> the property's type as written. */
function tokensInterfaces(): Map<string, Map<string, string>> {
  const file = path.join(ROOT, 'src', 'tokens.ts');
  const source = ts.createSourceFile(
    file,
    fs.readFileSync(file, 'utf8'),
    ts.ScriptTarget.ES2018,
    true
  );
  const found = new Map<string, Map<string, string>>();
  source.forEachChild(node => {
    if (ts.isInterfaceDeclaration(node)) {
      const members = new Map<string, string>();
      for (const member of node.members) {
        if (ts.isPropertySignature(member) && member.type) {
          members.set(member.name.getText(source), member.type.getText(source));
        }
      }
      found.set(node.name.text, members);
    }
  });
  return found;
}

const interfaces = tokensInterfaces();

/** Each schema of the contract and the interface of tokens.ts that mirrors it. */
const MIRRORS: { [schema: string]: string } = {
  Error: 'IErrorBody',
  EngineStatus: 'IEngineStatus',
  Health: 'IHealth',
  DidSummary: 'IDidSummary',
  SearchPage: 'ISearchPage',
  SiteCopy: 'ISiteCopy',
  RuleSummary: 'IRuleSummary',
  DatasetDetails: 'IDatasetDetails',
  DeepCount: 'IDeepCount',
  FileEntry: 'IFileEntry',
  FilePage: 'IFilePage',
  StorageElement: 'IStorageElement',
  Profile: 'IProfileInfo',
  Cluster: 'IClusterInfo',
  ReplicaRequest: 'IReplicaRequest',
  ReplicaUpdate: 'IReplicaUpdate',
  ReplicaProgress: 'IReplicaProgress',
  Community: 'ICommunity',
  AccessRequest: 'IAccessRequest',
  AccessOutcome: 'IAccessOutcome',
  AccessOverview: 'IAccessOverview',
  CheckpointVerification: 'ICheckpointVerification'
};

/** The union types of tokens.ts and the constant that lists their values. */
const UNIONS: { [type: string]: ReadonlyArray<string> } = {
  DidType: DID_TYPES,
  DidTypeFilter: DID_TYPE_FILTERS,
  ReplicaState: REPLICA_STATES,
  ReplicaMode: REPLICA_MODES,
  ClusterStatus: CLUSTER_STATUSES,
  AccessStatus: ACCESS_STATUSES,
  DeepState: DEEP_STATES,
  CheckpointKeySource: CHECKPOINT_KEY_SOURCES
};

/** The union a property is typed by, without ``| null``. */
function unionOf(typeText: string): string {
  return typeText.replace(/\s*\|\s*null\b/, '').trim();
}

describe('tokens.ts mirrors openapi.yaml', () => {
  it.each(Object.entries(MIRRORS))(
    'the interface of %s has its properties',
    (schema, name) => {
      const properties = spec.components.schemas[schema].properties ?? {};
      const members = interfaces.get(name);
      expect(members).toBeDefined();
      expect([...members!.keys()].sort()).toEqual(
        Object.keys(properties).sort()
      );
    }
  );

  it.each(Object.entries(MIRRORS))(
    'every enum of %s is a union with the same values',
    (schema, name) => {
      const properties = spec.components.schemas[schema].properties ?? {};
      for (const [property, definition] of Object.entries(properties)) {
        if (!definition.enum) {
          continue;
        }
        const union = unionOf(interfaces.get(name)!.get(property) ?? '');
        expect({ property, union, known: union in UNIONS }).toEqual({
          property,
          union,
          known: true
        });
        expect([...UNIONS[union]].sort()).toEqual([...definition.enum].sort());
      }
    }
  );

  it("the search's type parameter takes the DidTypeFilter values", () => {
    const parameter = spec.paths['/datasets'].get.parameters!.find(
      p => p.name === 'type'
    );
    expect([...DID_TYPE_FILTERS].sort()).toEqual(
      [...parameter!.schema.enum!].sort()
    );
  });

  it('every enum the spec has is checked here', () => {
    // A new enum in the contract needs its union in tokens.ts and a line in MIRRORS.
    const mirrored = new Set(Object.keys(MIRRORS));
    for (const [schema, definition] of Object.entries(
      spec.components.schemas
    )) {
      const hasEnum = Object.values(definition.properties ?? {}).some(
        p => p.enum !== undefined
      );
      if (hasEnum && !mirrored.has(schema) && !schema.endsWith('Event')) {
        throw new Error(`${schema} has an enum but no mirror in tokens.ts`);
      }
    }
  });
});
