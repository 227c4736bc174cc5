/**
 * Attach through conmon's attach socket (`<bundle>/attach`). It is a SOCK_SEQPACKET socket, which
 * Node's net module cannot open, so a few lines of Perl relay it (perl-base is an essential package
 * on Debian, and its Socket module knows SOCK_SEQPACKET). The protocol is conmon's: every message
 * from conmon is one read of the container's output prefixed by a byte naming the pipe (2 stdout,
 * 3 stderr); every message to it is written to the container's stdin; half-closing our side (the
 * client's end of input) makes conmon close the container's stdin when it was created with stdinOnce.
 * conmon closes the socket when the container has exited and its output is drained.
 *
 * The relay writes stdout to its fd 1 and stderr to its fd 3 (its own fd 2 keeps its errors).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';

const RELAY = String.raw`
use strict;
use Socket;
my $want_stdin = $ARGV[0];
socket(my $s, AF_UNIX, SOCK_SEQPACKET, 0) or die "socket: $!\n";
connect($s, pack_sockaddr_un("attach")) or die "connect to the attach socket: $!\n";
open(my $err, '>&=', 3) or die "fd 3: $!\n";
$SIG{PIPE} = 'IGNORE';
sub put { my ($fh, $data) = @_; while (length $data) { my $w = syswrite($fh, $data); return if !defined $w; substr($data, 0, $w) = ''; } }
my $in_open = $want_stdin;
while (1) {
  my $rin = '';
  vec($rin, fileno($s), 1) = 1;
  vec($rin, 0, 1) = 1 if $in_open;
  my $n = select(my $rout = $rin, undef, undef, undef);
  next if $n < 0;
  if (vec($rout, fileno($s), 1)) {
    my $got = sysread($s, my $buf, 65536);
    last if !$got;
    my $pipe = ord(substr($buf, 0, 1));
    put($pipe == 3 ? $err : \*STDOUT, substr($buf, 1));
  }
  if ($in_open && vec($rout, 0, 1)) {
    my $got = sysread(STDIN, my $buf, 8192);
    if (!$got) { shutdown($s, 1); $in_open = 0; }
    else { send($s, $buf, 0); }
  }
}
exit 0;
`;

export const PERL = '/usr/bin/perl';

export function canRelayAttach(): boolean {
  return existsSync(PERL);
}

export interface AttachRelay {
  stdin?: Writable;
  stdout: Readable;
  stderr: Readable;
  /** Resolves when conmon closed the socket (the container exited) or the relay was killed. */
  closed: Promise<{ error?: string }>;
  kill(): void;
}

export function relayAttach(bundle: string, stdin: boolean): AttachRelay {
  const child = spawn(PERL, ['-e', RELAY, stdin ? '1' : '0'], { cwd: bundle, stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'] });
  let errors = '';
  child.stderr!.on('data', (d) => (errors += String(d)));
  child.stdin?.on('error', () => {});
  const closed = new Promise<{ error?: string }>((resolve) => {
    child.on('error', (e) => resolve({ error: e.message }));
    child.on('close', (code) => resolve(code === 0 ? {} : { error: errors.trim() || `attach relay exited with ${code}` }));
  });
  return {
    stdin: child.stdin ?? undefined,
    stdout: child.stdout!,
    stderr: child.stdio[3] as Readable,
    closed,
    kill: () => child.kill('SIGKILL'),
  };
}
