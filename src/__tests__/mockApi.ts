/**
 * ``../api`` with every typed call replaced by a ``jest.fn()``, for
 * ``jest.mock('../api', () => jest.requireActual('./mockApi').mockedApi())``.
 */
type Group = { [name: string]: unknown };

function mockAll(group: Group): Group {
  const mocked: Group = {};
  for (const name of Object.keys(group)) {
    mocked[name] = jest.fn();
  }
  return mocked;
}

export function mockedApi(): Group {
  const actual = jest.requireActual<{ [name: string]: Group }>('../api');
  return {
    ...actual,
    health: jest.fn(),
    catalog: mockAll(actual.catalog),
    replicas: mockAll(actual.replicas),
    clusters: mockAll(actual.clusters),
    access: mockAll(actual.access)
  };
}
