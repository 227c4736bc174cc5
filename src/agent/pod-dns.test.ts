import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostsFileFor, podHostname, portMappings, resolvConfFor } from './pod-dns.js';
import { dockerCredentials } from './local.js';

const HOST = 'nameserver 10.0.0.53\nsearch corp.example\noptions ndots:2\n';

describe('pod DNS, hosts and pull secrets', () => {
  it('resolv.conf follows dnsPolicy and merges dnsConfig', () => {
    assert.equal(resolvConfFor({ spec: { dnsPolicy: 'Default' } }, HOST), 'search corp.example\nnameserver 10.0.0.53\noptions ndots:2\n');
    const none = resolvConfFor({ spec: { dnsPolicy: 'None', dnsConfig: { nameservers: ['1.2.3.4'], searches: ['a.b'], options: [{ name: 'ndots', value: '5' }, { name: 'edns0' }] } } }, HOST);
    assert.equal(none, 'search a.b\nnameserver 1.2.3.4\noptions ndots:5 edns0\n');
    const merged = resolvConfFor({ spec: { dnsConfig: { options: [{ name: 'ndots', value: '1' }] } } }, HOST);
    assert.match(merged, /options ndots:1\n$/);
  });

  it('/etc/hosts names the pod, its FQDN with a subdomain, and host aliases', () => {
    const pod = { metadata: { name: 'web-0', namespace: 'shop' }, spec: { subdomain: 'web', hostAliases: [{ ip: '10.1.1.1', hostnames: ['db', 'db.local'] }] } };
    const hosts = hostsFileFor(pod, '10.244.0.7');
    assert.match(hosts, /^127\.0\.0\.1\tlocalhost$/m);
    assert.match(hosts, /^10\.244\.0\.7\tweb-0\.web\.shop\.svc\.cluster\.local\tweb-0$/m);
    assert.match(hosts, /^10\.1\.1\.1\tdb\tdb\.local$/m);
    assert.equal(podHostname({ metadata: { name: 'x'.repeat(70) } }), 'x'.repeat(63));
    assert.equal(podHostname({ metadata: { name: 'p' }, spec: { hostname: 'h' } }), 'h');
  });

  it('host ports become port mappings', () => {
    const pod = { spec: { containers: [{ name: 'a', ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81 }, { containerPort: 53, hostPort: 5353, protocol: 'UDP' }] }] } };
    assert.deepEqual(portMappings(pod), [
      { containerPort: 80, hostPort: 8080, protocol: 'TCP', hostIP: undefined },
      { containerPort: 53, hostPort: 5353, protocol: 'UDP', hostIP: undefined },
    ]);
  });

  it('dockerconfigjson and dockercfg secrets give registry credentials; garbage gives none', () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');
    const json = { data: { '.dockerconfigjson': b64({ auths: { '127.0.0.1:5000': { username: 'u', password: 'p', auth: 'dTpw' } } }) } };
    assert.deepEqual(dockerCredentials(json), [{ registry: '127.0.0.1:5000', username: 'u', password: 'p', auth: 'dTpw', identitytoken: undefined, registrytoken: undefined }]);
    const cfg = { data: { '.dockercfg': b64({ 'https://index.docker.io/v1/': { auth: 'eDp5' } }) } };
    assert.equal(dockerCredentials(cfg)[0]?.registry, 'https://index.docker.io/v1/');
    assert.deepEqual(dockerCredentials({ data: { '.dockerconfigjson': 'not base64 json' } }), []);
    assert.deepEqual(dockerCredentials(undefined), []);
  });
});
