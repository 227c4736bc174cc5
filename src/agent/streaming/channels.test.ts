import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSignal, exitStatus, frame, parseMessage, parseResize, pickProtocol, portPrefix, REMOTE_COMMAND_PROTOCOLS } from './channels.js';
import { checkStreamHeaders, parsePorts } from './port-forward.js';

describe('websocket channel framing', () => {
  it('prefixes the channel byte and parses it back; the close signal only in v5', () => {
    assert.deepEqual([...frame(1, 'hi')], [1, 0x68, 0x69]);
    assert.deepEqual(parseMessage(frame(0, Buffer.from('x')), true), { kind: 'data', channel: 0, data: Buffer.from('x') });
    assert.deepEqual(parseMessage(closeSignal(0), true), { kind: 'close', channel: 0 });
    assert.deepEqual(parseMessage(closeSignal(0), false), { kind: 'data', channel: 255, data: Buffer.from([0]) });
    assert.deepEqual(parseMessage(Buffer.alloc(0), true), { kind: 'empty' });
  });

  it('picks the client\'s first protocol the server knows', () => {
    assert.equal(pickProtocol(['v5.channel.k8s.io', 'v4.channel.k8s.io'], REMOTE_COMMAND_PROTOCOLS), 'v5.channel.k8s.io');
    assert.equal(pickProtocol(['base64.channel.k8s.io', 'v4.channel.k8s.io'], REMOTE_COMMAND_PROTOCOLS), 'v4.channel.k8s.io');
    assert.equal(pickProtocol(['base64.channel.k8s.io'], REMOTE_COMMAND_PROTOCOLS), undefined);
  });

  it('reads resize messages and refuses nonsense', () => {
    assert.deepEqual(parseResize(Buffer.from('{"Width":91,"Height":37}')), { width: 91, height: 37 });
    assert.equal(parseResize(Buffer.from('{"Width":-1,"Height":37}')), undefined);
    assert.equal(parseResize(Buffer.from('nope')), undefined);
  });

  it('the exit Status as the kubelet writes it', () => {
    assert.deepEqual(exitStatus(0), { metadata: {}, status: 'Success' });
    assert.deepEqual((exitStatus(3) as any).details, { causes: [{ reason: 'ExitCode', message: '3' }] });
    assert.equal((exitStatus(3) as any).reason, 'NonZeroExitCode');
  });

  it('port-forward: ports little-endian, header checks and port lists with upstream\'s messages', () => {
    assert.deepEqual([...portPrefix(8080)], [0x90, 0x1f]);
    assert.equal(checkStreamHeaders({ port: ['80'], streamtype: ['data'] }), undefined);
    assert.equal(checkStreamHeaders({ streamtype: ['data'] }), '"port" header is required');
    assert.equal(checkStreamHeaders({ port: ['0'], streamtype: ['data'] }), 'port "0" must be > 0');
    assert.equal(checkStreamHeaders({ port: ['80'], streamtype: ['stdin'] }), 'invalid stream type "stdin"');
    assert.deepEqual(parsePorts(['80,443', '8080']), [80, 443, 8080]);
    assert.equal(parsePorts([]), 'query parameter "port" is required');
    assert.equal(parsePorts(['x']), 'unable to parse "x" as a port');
  });
});
