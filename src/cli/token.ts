/**
 * `skiff token create|list|delete`, after `kubeadm token`: bootstrap tokens are Secrets in
 * kube-system, managed through the API with the administrator's kubeconfig.
 */
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { ApiError } from '../api/errors.js';
import { HttpsClient } from '../client/https.js';
import {
  CLUSTER_INFO,
  CLUSTER_INFO_NAMESPACE,
  DEFAULT_NODE_TOKEN_GROUP,
  KUBECONFIG_KEY,
  EXTRA_GROUP_RE,
  generateToken,
  parseToken,
  readTokenSecret,
  SECRET_PREFIX,
  SECRET_TYPE,
  TOKEN_NAMESPACE,
  tokenSecret,
} from '../cluster-bootstrap/token.js';
import { durationMs, UsageError } from './flags.js';
import { parse as parseYaml } from 'yaml';
import { caCertHash } from '../agent/certificate/bootstrap.js';

const SECRETS = { group: '', version: 'v1', resource: 'secrets' };
const CONFIG_MAPS = { group: '', version: 'v1', resource: 'configmaps' };
const USAGES = ['signing', 'authentication'];

export const TOKEN_USAGE = `skiff token create [TOKEN] [--ttl 24h] [--description TEXT] [--groups G,...] [--usages signing,authentication] [--print-join-command]
skiff token list
skiff token delete TOKEN-ID|TOKEN ...
  --data-dir DIR          the control plane's data dir, whose admin kubeconfig is used (default $SKIFF_DATA_DIR or ./.skiff)
  --kubeconfig FILE       use this kubeconfig instead
  --ttl D                 how long the token lives (default 24h; 0 = never expires)
  --groups G,...          extra groups the token authenticates as (default ${DEFAULT_NODE_TOKEN_GROUP})
`;

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s >= 3600 * 48) return `${Math.floor(s / 86400)}d`;
  if (s >= 3600) return `${Math.floor(s / 3600)}h`;
  if (s >= 60) return `${Math.floor(s / 60)}m`;
  return `${s}s`;
}

export async function tokenCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' },
      kubeconfig: { type: 'string' },
      ttl: { type: 'string' },
      description: { type: 'string' },
      groups: { type: 'string' },
      usages: { type: 'string' },
      'print-join-command': { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [sub, ...args] = positionals;
  if (!sub || !['create', 'list', 'delete'].includes(sub)) throw new UsageError(`skiff token needs create, list or delete\n${TOKEN_USAGE}`);
  const dataDir = resolve(values['data-dir'] ?? process.env.SKIFF_DATA_DIR ?? '.skiff');
  const client = await HttpsClient.fromKubeconfig(resolve(values.kubeconfig ?? join(dataDir, 'kubeconfig')));
  try {
    if (sub === 'create') {
      if (args.length > 1) throw new UsageError('skiff token create takes at most one token');
      const ttl = values.ttl === undefined ? 24 * 3600_000 : durationMs('--ttl', values.ttl)!;
      const groups = values.groups === undefined ? [DEFAULT_NODE_TOKEN_GROUP] : values.groups.split(',').map((g) => g.trim()).filter(Boolean);
      for (const g of groups) {
        if (!EXTRA_GROUP_RE.test(g)) throw new UsageError(`--groups: ${JSON.stringify(g)} must match ${EXTRA_GROUP_RE.source}`);
      }
      const usages = values.usages === undefined ? USAGES : values.usages.split(',').map((u) => u.trim()).filter(Boolean);
      for (const u of usages) if (!USAGES.includes(u)) throw new UsageError(`--usages: ${JSON.stringify(u)} is not one of ${USAGES.join(', ')}`);
      const given = args[0] ? parseToken(args[0]) : undefined;
      if (args[0] && !given) throw new UsageError(`the token ${JSON.stringify(args[0])} is not of the form [a-z0-9]{6}.[a-z0-9]{16}`);
      const t = given ?? generateToken();
      await client.create(SECRETS, TOKEN_NAMESPACE, tokenSecret({ ...t, usages, extraGroups: groups, description: values.description, expiration: ttl > 0 ? new Date(Date.now() + ttl) : undefined }));
      if (!values['print-join-command']) {
        console.log(`${t.id}.${t.secret}`);
        return;
      }
      // The address cluster-info advertises, and the pin of the CA it carries, as kubeadm prints them.
      const info = await client.get(CONFIG_MAPS, CLUSTER_INFO_NAMESPACE, CLUSTER_INFO);
      const cluster = (parseYaml(String(info.data?.[KUBECONFIG_KEY] ?? '')) as { clusters?: { cluster?: Record<string, string> }[] })?.clusters?.[0]?.cluster ?? {};
      const ca = Buffer.from(cluster['certificate-authority-data'] ?? '', 'base64').toString('utf8');
      console.log(`skiff agent --server ${cluster.server} --token ${t.id}.${t.secret} --discovery-token-ca-cert-hash ${caCertHash(ca)}`);
      return;
    }
    if (sub === 'list') {
      const list = await client.list(SECRETS, TOKEN_NAMESPACE, { fieldSelector: `type=${SECRET_TYPE}` });
      const rows = [['TOKEN', 'TTL', 'EXPIRES', 'USAGES', 'DESCRIPTION', 'EXTRA GROUPS']];
      for (const s of list.items) {
        const t = readTokenSecret(s);
        if (!t) continue;
        const left = t.expiration ? t.expiration.getTime() - Date.now() : undefined;
        rows.push([
          `${t.id}.${t.secret}`,
          left === undefined ? '<forever>' : left <= 0 ? '<invalid>' : formatDuration(left),
          t.expiration ? t.expiration.toISOString().replace(/\.\d{3}Z$/, 'Z') : '<never>',
          t.usages.sort().join(','),
          t.description ?? '<none>',
          t.extraGroups.join(',') || '<none>',
        ]);
      }
      const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
      for (const r of rows) console.log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] + 3))).join(''));
      return;
    }
    if (args.length === 0) throw new UsageError('skiff token delete needs a token id or token');
    for (const a of args) {
      const id = parseToken(a)?.id ?? (/^[a-z0-9]{6}$/.test(a) ? a : undefined);
      if (!id) throw new UsageError(`${JSON.stringify(a)} is neither a token id ([a-z0-9]{6}) nor a token`);
      try {
        await client.delete(SECRETS, TOKEN_NAMESPACE, SECRET_PREFIX + id);
      } catch (err) {
        if (err instanceof ApiError && err.code === 404) throw new Error(`bootstrap token ${JSON.stringify(id)} not found`);
        throw err;
      }
      console.log(`bootstrap token ${JSON.stringify(id)} deleted`);
    }
  } finally {
    client.close();
  }
}
