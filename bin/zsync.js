#!/usr/bin/env node
// The client runs from one bundled file (see scripts/bundle-cli.js): it starts twice as fast.
import "../dist/bundle/zsync.mjs";
