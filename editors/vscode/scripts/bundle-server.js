// Copy ../../target/dist/asyncsense (`cargo build --profile dist --locked`: stripped, thin LTO), or
// $ASYNCSENSE_BUNDLE_FROM, into bundled/ when it exists (the package then ships it). The package is
// made for `--target linux-x64`, the platform of that binary.
const fs = require("fs");
const path = require("path");
const src = process.env.ASYNCSENSE_BUNDLE_FROM ? path.resolve(process.env.ASYNCSENSE_BUNDLE_FROM) : path.resolve(__dirname, "..", "..", "..", "target", "dist", process.platform === "win32" ? "asyncsense.exe" : "asyncsense");
const dir = path.resolve(__dirname, "..", "bundled");
// The repository's LICENSE goes into the package too (.vscodeignore lets it in; git ignores the copy).
fs.copyFileSync(path.resolve(__dirname, "..", "..", "..", "LICENSE"), path.resolve(__dirname, "..", "LICENSE"));
fs.rmSync(dir, { recursive: true, force: true });
if (fs.existsSync(src)) {
  fs.mkdirSync(dir, { recursive: true });
  const dst = path.join(dir, process.platform === "win32" ? "asyncsense.exe" : "asyncsense");
  fs.copyFileSync(src, dst);
  fs.chmodSync(dst, 0o755);
  console.log(`bundled ${src}`);
} else {
  console.log(`no ${src}: packaging without a bundled server (run cargo build --profile dist --locked first to bundle one)`);
}
