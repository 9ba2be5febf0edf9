// Writes JSON Lines to stdout at RATE lines/s for SECONDS (catching up with the clock every
// few milliseconds), then prints the count and the time taken to stderr as JSON.
// Usage: node pace.js RATE SECONDS | pls feed POOL

const [rate, seconds] = process.argv.slice(2).map(Number);
const started = Date.now();
let sent = 0;

function tick() {
  const elapsed = Date.now() - started;
  if (elapsed >= seconds * 1000) {
    process.stdout.end(() => process.stderr.write(JSON.stringify({ sent, ms: Date.now() - started }) + '\n'));
    return;
  }
  const due = Math.floor((elapsed / 1000) * rate) - sent;
  let chunk = '';
  for (let i = 0; i < due; i++) {
    sent++;
    chunk += `{"n":${sent},"level":"${sent % 10 ? 'info' : 'warn'}","msg":"load test message"}\n`;
  }
  if (chunk && !process.stdout.write(chunk)) {
    process.stdout.once('drain', () => setTimeout(tick, 5));
    return;
  }
  setTimeout(tick, 10);
}
tick();
