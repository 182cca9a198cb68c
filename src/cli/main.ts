import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { UsageError, type Command } from "./command.js";
import { COMMANDS } from "./commands/all.js";
import { InputError } from "./input.js";
import { EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, writeErr, writeOut, type CliIo } from "./io.js";
import { environment } from "../hosting/environment.js";

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `defender-export: continuous export for Microsoft Defender for Cloud

Usage: defender-export <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}
  ${"help".padEnd(width)}  show help for a command

Options:
  -h, --help     show help (also after a command: defender-export preview --help)
  -V, --version  print the version

Exit codes: 0 success, 1 failure, 2 bad input or usage.

Examples:
  defender-export validate examples/policy-defaults.json
  defender-export preview --config examples/policy-defaults.json examples/records`;
}

/** Runs the CLI; returns the exit code. Streams are injectable so tests drive it in-process. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  // A reader that goes away (EPIPE, as with `| head`) ends the output quietly; other write errors fail the run.
  let outputError: NodeJS.ErrnoException | undefined;
  io.stdout.on("error", (e: NodeJS.ErrnoException) => {
    outputError = e;
  });
  const code = await dispatch(argv, io);
  if (outputError !== undefined && outputError.code !== "EPIPE") {
    writeErr(io, `error: cannot write the output (${outputError.code ?? outputError.message})`);
    return EXIT_FAILURE;
  }
  return code;
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help") {
    await writeOut(io.stdout, `${mainHelp()}\n`);
    return name === undefined ? EXIT_BAD_INPUT : EXIT_OK;
  }
  if (name === "-V" || name === "--version") {
    await writeOut(io.stdout, `${version()}\n`);
    return EXIT_OK;
  }
  if (name === "help") {
    const target = rest[0] === undefined ? undefined : COMMANDS.find((c) => c.name === rest[0]);
    if (rest[0] !== undefined && target === undefined) return usage(io, `unknown command ${JSON.stringify(rest[0])}`);
    await writeOut(io.stdout, `${target?.help ?? mainHelp()}\n`);
    return EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) return usage(io, `unknown command ${JSON.stringify(name)}; expected one of ${COMMANDS.map((c) => c.name).join(", ")}`);
  return runCommand(command, rest, io);
}

async function runCommand(command: Command, args: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    return usage(io, (e as Error).message, command);
  }
  if (parsed.values["help"] === true) {
    await writeOut(io.stdout, `${command.help}\n`);
    return EXIT_OK;
  }
  try {
    return await command.run(parsed.values, parsed.positionals, io);
  } catch (e) {
    if (e instanceof UsageError) return usage(io, e.message, command);
    if (e instanceof InputError) {
      writeErr(io, `error: ${e.message}`);
      return EXIT_BAD_INPUT;
    }
    writeErr(io, `error: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT_FAILURE;
  }
}

function usage(io: CliIo, message: string, command?: Command): number {
  writeErr(io, `error: ${message}`);
  writeErr(io, `Run: defender-export ${command ? `${command.name} ` : ""}--help`);
  return EXIT_BAD_INPUT;
}

function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: environment() };
}
