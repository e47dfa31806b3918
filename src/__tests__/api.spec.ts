import { ServerConnection } from '@jupyterlab/services';

import * as api from '../api';
import { queryString, requestAPI, ResponseError, splitDid } from '../api';
import { cluster, progress } from './fixtures';

/** Server settings whose fetch answers from `respond` and records every request. */
function mockServer(
  respond: (request: Request) => Response | Promise<Response>
): { settings: ServerConnection.ISettings; requests: Request[] } {
  const requests: Request[] = [];
  const fetch = jest.fn(async (input: RequestInfo | URL) => {
    const request = input as Request;
    requests.push(request);
    return respond(request);
  });
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/user/alice/',
    fetch: fetch as unknown as typeof window.fetch
  });
  return { settings, requests };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

/** The request's path and query, without the cache-busting timestamp ServerConnection adds. */
function parse(request: Request): {
  path: string;
  params: { [key: string]: string };
} {
  const url = new URL(request.url);
  const params: { [key: string]: string } = {};
  url.searchParams.forEach((value, key) => {
    if (!/^\d+$/.test(key)) {
      params[key] = value;
    }
  });
  return { path: url.pathname, params };
}

describe('queryString', () => {
  it('encodes keys and values and drops empty ones', () => {
    expect(
      queryString({
        q: 'cms:*DY*',
        filters: 'a=1,b>2',
        x: undefined,
        y: null,
        z: ''
      })
    ).toBe('?q=cms%3A*DY*&filters=a%3D1%2Cb%3E2');
  });

  it('is empty without parameters', () => {
    expect(queryString({})).toBe('');
  });
});

describe('splitDid', () => {
  it('splits at the first colon only', () => {
    expect(splitDid('user.jdoe:a:b/c')).toEqual({
      scope: 'user.jdoe',
      name: 'a:b/c'
    });
  });

  it('refuses a text without scope or name', () => {
    expect(() => splitDid('nocolon')).toThrow(ResponseError);
    expect(() => splitDid(':name')).toThrow(/not a DID/);
    expect(() => splitDid('scope:')).toThrow(/not a DID/);
  });
});

describe('requestAPI', () => {
  it('joins the base URL and the wp5/api prefix', async () => {
    const { settings, requests } = mockServer(() =>
      json({ version: '0.1.0', engines: [] })
    );
    const health = await api.health(settings);
    expect(health).toEqual({ version: '0.1.0', engines: [] });
    expect(parse(requests[0]).path).toBe('/user/alice/wp5/api/health');
    expect(requests[0].method).toBe('GET');
  });

  it('maps an error body to a ResponseError with the server message', async () => {
    const { settings } = mockServer(() =>
      json(
        {
          error: 'invalid_request',
          message: "'x' is not a search: expected scope:pattern"
        },
        400
      )
    );
    const failure = api.catalog.search({ q: 'x' }, settings);
    await expect(failure).rejects.toBeInstanceOf(ResponseError);
    await expect(failure).rejects.toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: "'x' is not a search: expected scope:pattern"
    });
  });

  it('maps an engine failure (503) the same way', async () => {
    const { settings } = mockServer(() =>
      json(
        {
          error: 'engine_unavailable',
          message: 'Rucio at http://127.0.0.1:1 did not answer'
        },
        503
      )
    );
    await expect(
      api.catalog.describe('cms', 'x', settings)
    ).rejects.toMatchObject({
      status: 503,
      code: 'engine_unavailable',
      message: 'Rucio at http://127.0.0.1:1 did not answer'
    });
  });

  it('falls back to the HTTP status when the error body is not JSON', async () => {
    const { settings } = mockServer(
      () =>
        new Response('<html>Bad gateway</html>', {
          status: 502,
          statusText: 'Bad Gateway'
        })
    );
    await expect(requestAPI('health', {}, {}, settings)).rejects.toMatchObject({
      status: 502,
      code: 'http_error',
      message: 'HTTP 502 Bad Gateway'
    });
  });

  it('reports a network failure as status 0', async () => {
    const { settings } = mockServer(() => {
      throw new TypeError('Failed to fetch');
    });
    await expect(api.health(settings)).rejects.toMatchObject({
      status: 0,
      code: 'network_error'
    });
  });

  it('refuses a 200 answer that is not JSON', async () => {
    const { settings } = mockServer(
      () => new Response('not json', { status: 200 })
    );
    await expect(api.health(settings)).rejects.toMatchObject({
      code: 'invalid_response'
    });
  });
});

describe('typed calls', () => {
  it('api.catalog.search sends q, type, filters, limit and cursor', async () => {
    const page = { query: 'cms:*', items: [], next_cursor: null };
    const { settings, requests } = mockServer(() => json(page));
    const result = await api.catalog.search(
      {
        q: 'cms:*DY*',
        type: 'all',
        filters: 'datatype=NANOAOD,events>1000',
        limit: 50,
        cursor: 'eyJvIjogNTB9'
      },
      settings
    );
    expect(result).toEqual(page);
    const { path, params } = parse(requests[0]);
    expect(path).toBe('/user/alice/wp5/api/datasets');
    expect(params).toEqual({
      q: 'cms:*DY*',
      type: 'all',
      filters: 'datatype=NANOAOD,events>1000',
      limit: '50',
      cursor: 'eyJvIjogNTB9'
    });
    expect(requests[0].url).toContain('q=cms%3A*DY*');
  });

  it('api.catalog.search leaves out what is not set', async () => {
    const { settings, requests } = mockServer(() =>
      json({ query: 'cms:*', items: [], next_cursor: null })
    );
    await api.catalog.search({ q: 'cms:*', cursor: null }, settings);
    expect(parse(requests[0]).params).toEqual({ q: 'cms:*' });
  });

  it('api.catalog.describe sends a CMS name as one encoded did parameter', async () => {
    const { settings, requests } = mockServer(() => json({}));
    await api.catalog.describe('cms', '/DY+J/Run3/NANOAODSIM#a1b2', settings);
    // '/', '+' and '#' are all encoded: no proxy sees a slash or a fragment.
    expect(requests[0].url).toContain(
      '/user/alice/wp5/api/datasets/details' +
        '?did=cms%3A%2FDY%2BJ%2FRun3%2FNANOAODSIM%23a1b2'
    );
    expect(parse(requests[0])).toEqual({
      path: '/user/alice/wp5/api/datasets/details',
      params: { did: 'cms:/DY+J/Run3/NANOAODSIM#a1b2' }
    });
  });

  it('api.catalog.files adds rse, limit and cursor', async () => {
    const { settings, requests } = mockServer(() =>
      json({ did: 'cms:x', items: [], next_cursor: null })
    );
    await api.catalog.files(
      'cms',
      'DYJets/v9',
      { rse: 'SITE-A', limit: 10 },
      settings
    );
    const { path, params } = parse(requests[0]);
    expect(path).toBe('/user/alice/wp5/api/datasets/files');
    expect(params).toEqual({
      did: 'cms:DYJets/v9',
      rse: 'SITE-A',
      limit: '10'
    });
  });

  it('api.catalog.rses reads GET rses', async () => {
    const body = {
      items: [
        {
          name: 'SITE-A',
          rse_type: 'DISK',
          deterministic: true,
          availability_read: true,
          availability_write: true,
          quota_bytes: null,
          used_bytes: 0,
          attributes: {}
        }
      ]
    };
    const { settings, requests } = mockServer(() => json(body));
    expect(await api.catalog.rses(settings)).toEqual(body);
    expect(parse(requests[0]).path).toBe('/user/alice/wp5/api/rses');
  });
});

describe('replica and cluster calls', () => {
  /** Method, path and JSON body of a recorded request. */
  async function sent(
    request: Request
  ): Promise<{ method: string; path: string; body: unknown }> {
    const text = await request.text();
    return {
      method: request.method,
      path: parse(request).path,
      body: text ? JSON.parse(text) : null
    };
  }

  it('api.replicas.request POSTs the request as JSON and answers the progress', async () => {
    const { settings, requests } = mockServer(() => json(progress('r1'), 201));
    const made = await api.replicas.request(
      {
        did: 'cms:TTTo2L2Nu_NanoAODv9',
        rse_expression: 'SITE-B',
        lifetime: 86400
      },
      settings
    );
    expect(made.id).toBe('r1');
    expect(await sent(requests[0])).toEqual({
      method: 'POST',
      path: '/user/alice/wp5/api/replicas',
      body: {
        did: 'cms:TTTo2L2Nu_NanoAODv9',
        rse_expression: 'SITE-B',
        lifetime: 86400
      }
    });
    expect(requests[0].headers.get('Content-Type')).toBe('application/json');
  });

  it('api.replicas.request rejects with the server refusal', async () => {
    const { settings } = mockServer(() =>
      json(
        {
          error: 'engine_refused',
          message: 'Rucio refused: quota exceeded on SITE-B'
        },
        409
      )
    );
    await expect(
      api.replicas.request({ did: 'cms:a', rse_expression: 'SITE-B' }, settings)
    ).rejects.toMatchObject({
      status: 409,
      code: 'engine_refused',
      message: 'Rucio refused: quota exceeded on SITE-B'
    });
  });

  it('lists, reads and cancels replicas', async () => {
    const { settings, requests } = mockServer(request =>
      request.method === 'DELETE'
        ? new Response(null, { status: 204 })
        : request.url.includes('/replicas/')
          ? json(progress('r 1'))
          : json({ items: [progress('r1')] })
    );
    expect((await api.replicas.list(settings)).items).toHaveLength(1);
    expect((await api.replicas.get('r 1', settings)).id).toBe('r 1');
    await expect(api.replicas.cancel('r 1', settings)).resolves.toBeUndefined();
    const calls = await Promise.all(requests.map(sent));
    expect(calls.map(c => [c.method, c.path])).toEqual([
      ['GET', '/user/alice/wp5/api/replicas'],
      ['GET', '/user/alice/wp5/api/replicas/r%201'],
      ['DELETE', '/user/alice/wp5/api/replicas/r%201']
    ]);
  });

  it('profiles and clusters: list, create, resize, close', async () => {
    const { settings, requests } = mockServer(request => {
      if (request.method === 'DELETE') {
        return new Response(null, { status: 204 });
      }
      if (request.url.includes('/profiles')) {
        return json({ items: [] });
      }
      if (request.method === 'GET') {
        return json({ items: [cluster('c1')] });
      }
      return json(cluster('c1'), request.method === 'POST' ? 201 : 200);
    });
    await api.clusters.profiles(settings);
    expect((await api.clusters.list(settings)).items[0].id).toBe('c1');
    await api.clusters.create(
      { profile: 'cpu', adaptive: { minimum: 0, maximum: 2 }, name: 'mine' },
      settings
    );
    await api.clusters.resize('c1', { workers: 3 }, settings);
    await api.clusters.close('c1', settings);
    const calls = await Promise.all(requests.map(sent));
    expect(calls).toEqual([
      { method: 'GET', path: '/user/alice/wp5/api/profiles', body: null },
      { method: 'GET', path: '/user/alice/wp5/api/clusters', body: null },
      {
        method: 'POST',
        path: '/user/alice/wp5/api/clusters',
        body: {
          profile: 'cpu',
          adaptive: { minimum: 0, maximum: 2 },
          name: 'mine'
        }
      },
      {
        method: 'PATCH',
        path: '/user/alice/wp5/api/clusters/c1',
        body: { workers: 3 }
      },
      { method: 'DELETE', path: '/user/alice/wp5/api/clusters/c1', body: null }
    ]);
  });
});
