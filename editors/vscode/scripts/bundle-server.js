// Copy ../../target/release/asyncsense (or $ASYNCSENSE_BUNDLE_FROM) into bundled/ when it exists
// (the package then ships it).
const fs = require("fs");
const path = require("path");
const src = process.env.ASYNCSENSE_BUNDLE_FROM ? path.resolve(process.env.ASYNCSENSE_BUNDLE_FROM) : path.resolve(__dirname, "..", "..", "..", "target", "release", process.platform === "win32" ? "asyncsense.exe" : "asyncsense");
const dir = path.resolve(__dirname, "..", "bundled");
fs.rmSync(dir, { recursive: true, force: true });
if (fs.existsSync(src)) {
  fs.mkdirSync(dir, { recursive: true });
  const dst = path.join(dir, process.platform === "win32" ? "asyncsense.exe" : "asyncsense");
  fs.copyFileSync(src, dst);
  fs.chmodSync(dst, 0o755);
  console.log(`bundled ${src}`);
} else {
  console.log(`no ${src}: packaging without a bundled server (run cargo build --release first to bundle one)`);
}
