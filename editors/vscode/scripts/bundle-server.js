// Copy ../../target/dist/asyncsense (`cargo build --profile dist --locked`: stripped, thin LTO), or
// $ASYNCSENSE_BUNDLE_FROM, into bundled/ (the package then ships it). The package is made for
// `--target linux-x64`, the platform of that binary. A missing binary is an error: a linux-x64
// package without its server finds nothing for anyone who installs it. `--no-server` (used by
// `npm run package:no-server`) packages the "bring your own binary" extension on purpose.
const fs = require("fs");
const path = require("path");
const src = process.env.ASYNCSENSE_BUNDLE_FROM ? path.resolve(process.env.ASYNCSENSE_BUNDLE_FROM) : path.resolve(__dirname, "..", "..", "..", "target", "dist", process.platform === "win32" ? "asyncsense.exe" : "asyncsense");
const dir = path.resolve(__dirname, "..", "bundled");
// The repository's LICENSE goes into the package too (.vscodeignore lets it in; git ignores the copy).
fs.copyFileSync(path.resolve(__dirname, "..", "..", "..", "LICENSE"), path.resolve(__dirname, "..", "LICENSE"));
fs.rmSync(dir, { recursive: true, force: true });
if (process.argv.includes("--no-server")) {
  console.log("packaging without a bundled server (--no-server): users set asyncsense.server.path or put asyncsense on PATH");
} else if (fs.existsSync(src)) {
  fs.mkdirSync(dir, { recursive: true });
  const dst = path.join(dir, process.platform === "win32" ? "asyncsense.exe" : "asyncsense");
  fs.copyFileSync(src, dst);
  fs.chmodSync(dst, 0o755);
  console.log(`bundled ${src}`);
} else {
  console.error(
    `error: no server binary at ${src}.\n` +
      "Build it first (cargo build --profile dist --locked, from the repository root), point\n" +
      "ASYNCSENSE_BUNDLE_FROM at one, or run `npm run package:no-server` for a package without a server.",
  );
  process.exit(1);
}
