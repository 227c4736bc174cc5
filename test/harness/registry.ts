/**
 * A real OCI registry for tests: Debian's docker-registry (distribution 2.8) on a free loopback port,
 * optionally behind a token server running in the test process; images built with umoci from Debian's
 * busybox-static and pushed with skopeo; a counting (and, on request, corrupting) loopback proxy.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, sign } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const IMAGE_TOOLS_HINT = 'apt-get install docker-registry skopeo umoci busybox-static';

/** Fails loudly, with the install hint, when a tool these tests need is missing. */
export function requireImageTools(): void {
  const missing = ['/usr/bin/docker-registry', '/usr/bin/skopeo', '/usr/bin/umoci', '/bin/busybox', '/usr/bin/openssl'].filter((p) => !existsSync(p));
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: ${IMAGE_TOOLS_HINT} openssl`);
}

export interface TestRegistry {
  /** "127.0.0.1:<port>". */
  host: string;
  stop(): Promise<void>;
  /** With auth 'token': the only account the token server accepts. */
  tokenUser?: string;
  tokenPassword?: string;
  /** With auth 'token': token requests seen, with the account that asked ('' when anonymous). */
  tokenRequests?: { user: string; scope: string[] }[];
}

async function freePort(): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export async function startRegistry(opts: { auth?: 'token' } = {}): Promise<TestRegistry> {
  requireImageTools();
  const dir = await fsp.mkdtemp(join(tmpdir(), 'skt-img-registry-'));
  let token: TokenServer | undefined;
  let child: ChildProcess | undefined;
  try {
    let authYaml = '';
    if (opts.auth === 'token') {
      token = await startTokenServer(dir);
      authYaml = [
        'auth:',
        '  token:',
        `    realm: ${token.realm}`,
        `    service: ${token.service}`,
        `    issuer: ${token.issuer}`,
        `    rootcertbundle: ${token.certPath}`,
      ].join('\n');
    }
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const config = [
        'version: 0.1',
        'log:',
        '  level: error',
        '  accesslog:',
        '    disabled: true',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${join(dir, 'storage')}`,
        '  delete:',
        '    enabled: true',
        'http:',
        `  addr: 127.0.0.1:${port}`,
        `  secret: ${randomBytes(16).toString('hex')}`,
        authYaml,
        '',
      ].join('\n');
      await fsp.writeFile(join(dir, 'config.yml'), config);
      let stderr = '';
      child = spawn('/usr/bin/docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr!.on('data', (d) => {
        if (stderr.length < 16384) stderr += d;
      });
      const host = `127.0.0.1:${port}`;
      if (await waitForRegistry(host, child)) {
        const c = child;
        return {
          host,
          tokenUser: token?.user,
          tokenPassword: token?.password,
          tokenRequests: token?.requests,
          async stop() {
            await stopChild(c);
            await token?.stop();
            await fsp.rm(dir, { recursive: true, force: true });
          },
        };
      }
      await stopChild(child);
      if (attempt >= 2) throw new Error(`docker-registry did not start on ${host}: ${stderr.trim().slice(-2000)}`);
    }
  } catch (err) {
    if (child) await stopChild(child);
    await token?.stop();
    await fsp.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function waitForRegistry(host: string, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) return false;
    const status = await new Promise<number>((resolve) => {
      const req = http.get(`http://${host}/v2/`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
    });
    if (status === 200 || status === 401) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
  c.kill('SIGTERM');
  const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// Token server (distribution's "token" auth: an ES256 JWT whose x5c chains to rootcertbundle)

interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certPath: string;
  user: string;
  password: string;
  requests: { user: string; scope: string[] }[];
  stop(): Promise<void>;
}

async function startTokenServer(dir: string): Promise<TokenServer> {
  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  await execFileAsync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=skiff-test-token-issuer',
  ]);
  const key = createPrivateKey(await fsp.readFile(keyPath));
  const certPem = await fsp.readFile(certPath, 'utf8');
  const certDer = Buffer.from(certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const { stdout: spkiPem } = await execFileAsync('openssl', ['x509', '-in', certPath, '-pubkey', '-noout']);
  const spkiDer = Buffer.from(spkiPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const service = 'skiff-test-registry';
  const issuer = 'skiff-test-issuer';
  const user = 'skt-img-user';
  const password = randomBytes(12).toString('hex');
  const requests: { user: string; scope: string[] }[] = [];
  const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

  const srv = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let who = '';
    const authz = req.headers.authorization ?? '';
    if (authz.startsWith('Basic ')) {
      const [u, ...p] = Buffer.from(authz.slice(6), 'base64').toString('utf8').split(':');
      if (u !== user || p.join(':') !== password) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ details: 'incorrect username or password' }));
        requests.push({ user: `rejected:${u}`, scope: url.searchParams.getAll('scope') });
        return;
      }
      who = u;
    }
    const scopes = url.searchParams.getAll('scope');
    requests.push({ user: who, scope: scopes });
    // Anonymous callers get a valid token that grants nothing, as Docker Hub does for private repos.
    const access = who
      ? scopes.flatMap((s) => {
          const [type, ...rest] = s.split(':');
          const actions = rest.pop()!;
          return [{ type, name: rest.join(':'), actions: actions.split(',').filter((a) => a === 'pull' || a === 'push') }];
        })
      : [];
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', kid: libtrustKeyId(spkiDer), x5c: [certDer.toString('base64')] };
    const claims = { iss: issuer, sub: who, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${signingInput}.${b64url(signature)}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    user,
    password,
    requests,
    stop: () => new Promise<void>((resolve) => srv.close(() => resolve())),
  };
}

/** libtrust's key ID: the first 240 bits of SHA-256(DER SPKI), base32, in 12 groups of 4. */
function libtrustKeyId(spkiDer: Buffer): string {
  const hash = createHash('sha256').update(spkiDer).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of hash) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(':');
}

// ---------------------------------------------------------------------------------------------
// Images

export const BUSYBOX_APPLETS = [
  'sh', 'ash', 'echo', 'cat', 'sleep', 'ls', 'wget', 'httpd', 'nc', 'env', 'true', 'false', 'id', 'mkdir', 'rm',
  'touch', 'ps', 'hostname', 'grep', 'sed', 'head', 'tail', 'wc', 'date', 'kill', 'test', 'printf', 'pwd', 'cp',
  'mv', 'ln', 'chmod', 'chown', 'stat', 'uname', 'whoami', 'mount', 'df', 'du', 'find', 'xargs', 'tee', 'seq',
];

export interface BuiltImage {
  /** "host/repo:tag". */
  reference: string;
  /** The pushed manifest's digest. */
  digest: string;
}

export interface BusyboxImageOptions {
  /** "user:password" for a token registry. */
  creds?: string;
  /** Paths deleted by an extra layer on top (whiteouts). */
  whiteout?: string[];
  /** Files added by an extra layer: path → content. */
  files?: Record<string, string>;
  /** Directories replaced by an extra layer's opaque directory holding only `files` below them. */
  opaque?: string[];
  env?: string[];
  cmd?: string[];
}

async function addLayer(image: string, tree: string, scratch: string): Promise<void> {
  const tarPath = join(scratch, `layer-${randomBytes(4).toString('hex')}.tar`);
  // Reproducible (names sorted, one mtime), so images built apart share their base layer.
  await execFileAsync('tar', ['--create', '--file', tarPath, '--numeric-owner', '--format=gnu', '--sort=name', '--mtime=@1000000000', '-C', tree, '.']);
  await execFileAsync('umoci', ['raw', 'add-layer', '--image', image, tarPath]);
}

/**
 * Builds an OCI image from /bin/busybox (symlinked applets, /etc/passwd, /tmp, a hard link, a file
 * owned by 1234:5678 with mode 0640) with umoci, and pushes it with skopeo. Returns its digest.
 */
export async function buildBusyboxImage(host: string, repo: string, tag: string, opts: BusyboxImageOptions = {}): Promise<BuiltImage> {
  requireImageTools();
  const dir = await fsp.mkdtemp(join(tmpdir(), 'skt-img-build-'));
  try {
    const layout = join(dir, 'oci');
    const image = `${layout}:${tag}`;
    await execFileAsync('umoci', ['init', '--layout', layout]);
    await execFileAsync('umoci', ['new', '--image', image]);
    const root = join(dir, 'root');
    for (const d of ['bin', 'etc', 'tmp', 'root', 'var/www', 'home/user']) await fsp.mkdir(join(root, d), { recursive: true });
    await fsp.copyFile('/bin/busybox', join(root, 'bin/busybox'));
    await fsp.chmod(join(root, 'bin/busybox'), 0o755);
    for (const applet of BUSYBOX_APPLETS) await fsp.symlink('busybox', join(root, 'bin', applet));
    await fsp.link(join(root, 'bin/busybox'), join(root, 'bin/busybox.hardlink'));
    await fsp.writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n');
    await fsp.writeFile(join(root, 'etc/group'), 'root:x:0:\nuser:x:1000:\n');
    await fsp.writeFile(join(root, 'etc/owned'), 'owned by 1234:5678\n');
    await fsp.chown(join(root, 'etc/owned'), 1234, 5678);
    await fsp.chmod(join(root, 'etc/owned'), 0o640);
    await fsp.utimes(join(root, 'etc/owned'), 1_000_000_000, 1_000_000_000);
    await fsp.chown(join(root, 'home/user'), 1000, 1000);
    await fsp.chmod(join(root, 'tmp'), 0o1777);
    await fsp.writeFile(join(root, 'var/www/index.html'), 'hello from skiff\n');
    // Layers are made by GNU tar and added verbatim: umoci 0.4.7's own "insert" writes archives
    // without their end-of-archive blocks, which a strict reader rightly refuses.
    await fsp.chmod(root, 0o755);
    await addLayer(image, root, dir);
    if (opts.whiteout?.length || opts.opaque?.length || opts.files) {
      const upper = join(dir, 'upper');
      await fsp.mkdir(upper, { mode: 0o755 });
      for (const path of opts.whiteout ?? []) {
        const rel = path.replace(/^\/+/, '');
        const slash = rel.lastIndexOf('/');
        const parent = join(upper, rel.slice(0, Math.max(0, slash)));
        await fsp.mkdir(parent, { recursive: true });
        await fsp.writeFile(join(parent, `.wh.${rel.slice(slash + 1)}`), '');
      }
      for (const path of opts.opaque ?? []) {
        const d = join(upper, path.replace(/^\/+/, ''));
        await fsp.mkdir(d, { recursive: true });
        await fsp.writeFile(join(d, '.wh..wh..opq'), '');
      }
      for (const [f, content] of Object.entries(opts.files ?? {})) {
        const target = join(upper, f.replace(/^\/+/, ''));
        await fsp.mkdir(join(target, '..'), { recursive: true });
        await fsp.writeFile(target, content);
      }
      await addLayer(image, upper, dir);
    }
    const configArgs = ['config', '--image', image, '--config.workingdir', '/'];
    for (const e of opts.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']) configArgs.push('--config.env', e);
    for (const c of opts.cmd ?? ['sh']) configArgs.push('--config.cmd', c);
    await execFileAsync('umoci', configArgs);
    const digestFile = join(dir, 'digest');
    const args = ['copy', '--quiet', '--dest-tls-verify=false', '--digestfile', digestFile];
    if (opts.creds) args.push('--dest-creds', opts.creds);
    args.push(`oci:${image}`, `docker://${host}/${repo}:${tag}`);
    await execFileAsync('skopeo', args);
    return { reference: `${host}/${repo}:${tag}`, digest: (await fsp.readFile(digestFile, 'utf8')).trim() };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Raw registry API (unauthenticated registries), for images skopeo would not make

async function api(method: string, url: string, body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: body ? { ...headers, 'content-length': String(body.length) } : headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function pushBlob(host: string, repo: string, bytes: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256(bytes);
  const start = await api('POST', `http://${host}/v2/${repo}/blobs/uploads/`);
  if (start.status !== 202) throw new Error(`blob upload start: ${start.status} ${start.body}`);
  const location = new URL(start.headers.location!, `http://${host}`);
  location.searchParams.set('digest', digest);
  const put = await api('PUT', location.toString(), bytes, { 'content-type': 'application/octet-stream' });
  if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${put.body}`);
  return { digest, size: bytes.length };
}

export async function pushManifest(host: string, repo: string, ref: string, mediaType: string, json: unknown): Promise<{ digest: string; size: number }> {
  const bytes = Buffer.from(JSON.stringify(json));
  const res = await api('PUT', `http://${host}/v2/${repo}/manifests/${ref}`, bytes, { 'content-type': mediaType });
  if (res.status !== 201) throw new Error(`manifest push: ${res.status} ${res.body}`);
  return { digest: sha256(bytes), size: bytes.length };
}

export async function getManifest(host: string, repo: string, ref: string): Promise<{ mediaType: string; digest: string; size: number; json: any }> {
  const res = await api('GET', `http://${host}/v2/${repo}/manifests/${ref}`, undefined, {
    accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json',
  });
  if (res.status !== 200) throw new Error(`manifest get: ${res.status} ${res.body}`);
  const json = JSON.parse(res.body.toString('utf8'));
  return { mediaType: json.mediaType ?? String(res.headers['content-type']), digest: sha256(res.body), size: res.body.length, json };
}

/**
 * Pushes a one-layer image for any platform (the layer holds `files`), by hand: the index test needs
 * a second architecture that no tool here would build.
 */
export async function pushTinyImage(host: string, repo: string, ref: string, platform: { os: string; architecture: string; variant?: string }, files: Record<string, string>): Promise<{ digest: string; size: number; mediaType: string }> {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'skt-img-tiny-'));
  try {
    for (const [f, content] of Object.entries(files)) {
      await fsp.mkdir(join(dir, 'root', f, '..'), { recursive: true });
      await fsp.writeFile(join(dir, 'root', f), content);
    }
    await execFileAsync('tar', ['--create', '--file', join(dir, 'layer.tar'), '--numeric-owner', '--owner=0', '--group=0', '-C', join(dir, 'root'), '.']);
    const tar = await fsp.readFile(join(dir, 'layer.tar'));
    await execFileAsync('gzip', ['-n', join(dir, 'layer.tar')]);
    const gz = await fsp.readFile(join(dir, 'layer.tar.gz'));
    const layer = await pushBlob(host, repo, gz);
    const config = Buffer.from(JSON.stringify({ ...platform, config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }));
    const cfg = await pushBlob(host, repo, config);
    const mediaType = 'application/vnd.oci.image.manifest.v1+json';
    const m = await pushManifest(host, repo, ref, mediaType, {
      schemaVersion: 2,
      mediaType,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    });
    return { ...m, mediaType };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** Tags an OCI index of already-pushed manifests. */
export async function pushIndex(host: string, repo: string, tag: string, manifests: { digest: string; size: number; mediaType: string; platform: { os: string; architecture: string; variant?: string } }[]): Promise<{ digest: string }> {
  const mediaType = 'application/vnd.oci.image.index.v1+json';
  return pushManifest(host, repo, tag, mediaType, { schemaVersion: 2, mediaType, manifests });
}

// ---------------------------------------------------------------------------------------------
// A loopback proxy in front of a registry: counts requests, and corrupts blobs when asked.

export interface RegistryProxy {
  host: string;
  /** "GET /v2/…" for every request seen. */
  requests: string[];
  /** When it returns true for a request path, the response body has its first byte flipped. */
  corrupt?: (path: string) => boolean;
  /** Delay before forwarding, for overlapping pulls. */
  delayMs: number;
  stop(): Promise<void>;
}

export async function startProxy(target: string): Promise<RegistryProxy> {
  const proxy: RegistryProxy = {
    host: '',
    requests: [],
    delayMs: 0,
    stop: async () => {
      srv.closeAllConnections();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
  const srv = http.createServer((req, res) => {
    proxy.requests.push(`${req.method} ${req.url}`);
    const forward = () => {
      const up = http.request(`http://${target}${req.url}`, { method: req.method, headers: { ...req.headers, host: target } }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        let first = proxy.corrupt?.(req.url ?? '') ?? false;
        upRes.on('data', (chunk: Buffer) => {
          if (first && chunk.length > 0) {
            chunk = Buffer.from(chunk);
            chunk[0] ^= 0xff;
            first = false;
          }
          res.write(chunk);
        });
        upRes.on('end', () => res.end());
      });
      up.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      req.pipe(up);
    };
    if (proxy.delayMs) setTimeout(forward, proxy.delayMs);
    else forward();
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  proxy.host = `127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return proxy;
}
