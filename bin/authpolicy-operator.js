#!/usr/bin/env node
// The installed executable (also kubectl-authpolicy): runs the compiled CLI.
import '../dist/cli/main.js';
