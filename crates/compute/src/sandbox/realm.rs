//! The context runs share: built once per runtime with the client library, then locked down, so that a run reaches nothing it can change for the next run except the global object, which is put back after every run.
//!
//! Lockdown: every object reachable from the global object, from the host objects' prototypes and from sample values (iterators, generators, async functions, …) is frozen, so built-in prototypes, `Math`, `JSON`, the library's functions and the frozen `Date` cannot be changed; properties that functions commonly assign on their own objects (`toString`, `constructor`, an error's `name` and `message`, the host objects' methods, …) become accessor pairs whose setter defines the property on the object assigned to, so that assigning them works as it does over unfrozen built-ins (the "override mistake" of frozen prototypes).
//! The global object stays extensible, for the globals functions declare, but its properties from lockdown are made read-only and permanent (assigning `JSON` or `getSensorMetadata` fails like assigning a frozen property); a reset deletes the properties a run added.
//! A run that made the global object unresettable (not extensible, another prototype, a property it cannot delete) makes the sandbox drop the runtime.
//! State QuickJS keeps in the context rather than in objects is kept out of reach: `Error.prepareStackTrace` and `Error.stackTraceLimit` become plain read-only values, and `FinalizationRegistry` (whose callbacks could run in a later run) is removed.
//! What a reset does not undo: `Math.random`'s generator goes on from run to run, as it would in one long-lived context (a run that knew earlier runs' numbers could tell how many they drew), and the time zone still shows (see `sandbox.rs`).
//! A function's source is compiled once into a function whose body is the source (`(() => { <source> })`), kept in a cache keyed by the source text; each run calls it, so the function's top level runs again and its declarations and closures start fresh, without parsing again.
//! This file does not decide how a run ends or what a limit is (`sandbox.rs`), nor what the client library does (`library.rs`).

use std::collections::HashMap;

use rquickjs::context::EvalOptions;
use rquickjs::{Context, Ctx, Function, Object, Persistent, Runtime};

use super::{Intrinsics, library};

/// The name compile errors and stack frames give the function's source.
pub(super) const SOURCE_NAME: &str = "function.js";

/// What comes before a function's source when it is compiled: the source's first line shows columns this much further right, which `Realm::source_positions` takes back.
const WRAPPER_START: &str = "(() => {";

/// What comes after it: the function's `process`, declared anywhere in its top level or assigned as a global, is what the compiled function returns.
const WRAPPER_END: &str = "\n;return typeof process === \"function\" ? process : undefined;";

/// Functions whose compiled form a realm keeps; the least recently run is dropped first.
const FUNCTIONS_MAX: usize = 128;

/// Bytes of source text (a measure of their compiled size) a realm keeps compiled; compiled functions live in the runtime, so they count against the memory limit.
const FUNCTIONS_SOURCE_BYTES_MAX: usize = 1024 * 1024;

/// The shared context with the privileged functions only the sandbox holds.
/// Field order matters: the saved values must be dropped before the runtime.
pub(super) struct Realm {
    /// Sets what `Date.now()` answers.
    set_now: Persistent<Function<'static>>,
    /// Puts the global object back; answers whether it could.
    reset: Persistent<Function<'static>>,
    /// Compiles a function body with the `Function` constructor and answers whether the body is all of the compiled function (it does not close the wrapper's brace early).
    precheck: Persistent<Function<'static>>,
    /// Names a compiled function `<eval>` for stack traces and freezes it.
    adopt: Persistent<Function<'static>>,
    functions: Functions,
    context: Context,
}

impl Realm {
    /// Builds the context, installs the client library and locks it down.
    pub(super) fn new(runtime: &Runtime) -> rquickjs::Result<Realm> {
        let context = Context::custom::<Intrinsics>(runtime)?;
        let (set_now, reset, precheck, adopt) = context.with(|ctx| -> rquickjs::Result<_> {
            let set_now = library::install(&ctx)?;
            let lockdown: Function = ctx.eval(LOCKDOWN)?;
            let privileged: Object =
                lockdown.call((library::prototypes(&ctx)?, SOURCE_NAME, WRAPPER_START.len() as u32))?;
            let saved = |name: &str| -> rquickjs::Result<Persistent<Function<'static>>> {
                Ok(Persistent::save(&ctx, privileged.get::<_, Function>(name)?))
            };
            Ok((Persistent::save(&ctx, set_now), saved("reset")?, saved("precheck")?, saved("adopt")?))
        })?;
        Ok(Realm { set_now, reset, precheck, adopt, functions: Functions::default(), context })
    }

    /// Functions compiled so far (cached or since dropped from the cache).
    pub(super) fn compiled_count(&self) -> u64 {
        self.functions.compiled
    }

    pub(super) fn context(&self) -> &Context {
        &self.context
    }

    /// Sets what `Date.now()` answers for the run about to start.
    pub(super) fn set_now(&self, ctx: &Ctx<'_>, now_unix_ms: i64) -> rquickjs::Result<()> {
        self.set_now.clone().restore(ctx)?.call((now_unix_ms as f64,))
    }

    /// The compiled function of `source`, compiled now unless it is cached: calling it runs the top level and returns `process` (or `undefined`).
    pub(super) fn compiled<'js>(&mut self, ctx: &Ctx<'js>, source: &str) -> rquickjs::Result<Function<'js>> {
        if let Some(function) = self.functions.get(source) {
            return function.restore(ctx);
        }
        // A hashbang line is a comment in a script but not in a function body; `//` keeps every position.
        let body = match source.strip_prefix("#!") {
            Some(rest) => format!("//{rest}{WRAPPER_END}"),
            None => format!("{source}{WRAPPER_END}"),
        };
        // The wrapper is compiled as a global script, so a source that closed its brace early would run its remainder as global code whose `let` and `const` would outlive the run; the `Function` constructor compiles the same body as eval code first (whose declarations do not outlive it) and tells whether it stayed inside.
        let contained: bool = self.precheck.clone().restore(ctx)?.call((body.as_str(),))?;
        if !contained {
            return Err(rquickjs::Exception::throw_syntax(ctx, "the function's source closes a brace it did not open"));
        }
        let mut options = EvalOptions::default();
        // The 2018 samples are sloppy-mode scripts (they assign undeclared variables).
        options.strict = false;
        options.filename = Some(SOURCE_NAME.to_owned());
        let function: Function = ctx.eval_with_options(format!("{WRAPPER_START}{body}\n}})"), options)?;
        let function: Function = self.adopt.clone().restore(ctx)?.call((function,))?;
        self.functions.insert(source, Persistent::save(ctx, function.clone()));
        Ok(function)
    }

    /// Puts the global object back as it was after lockdown; `false` when the run left it in a state that cannot be undone.
    pub(super) fn reset(&self, ctx: &Ctx<'_>) -> rquickjs::Result<bool> {
        self.reset.clone().restore(ctx)?.call(())
    }

    /// `stack` with the columns of the source's first line as they are in the source: the wrapper's start shifts them.
    pub(super) fn source_positions(stack: &str) -> String {
        let marker = format!("{SOURCE_NAME}:1:");
        let mut text = String::with_capacity(stack.len());
        let mut rest = stack;
        while let Some(at) = rest.find(&marker) {
            let (before, after) = rest.split_at(at + marker.len());
            text.push_str(before);
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            match after[..digits].parse::<usize>() {
                Ok(column) if column > WRAPPER_START.len() => {
                    text.push_str(&(column - WRAPPER_START.len()).to_string())
                }
                _ => text.push_str(&after[..digits]),
            }
            rest = &after[digits..];
        }
        text.push_str(rest);
        text
    }
}

/// Compiled functions by source text, least recently used dropped first.
#[derive(Default)]
struct Functions {
    entries: HashMap<String, (Persistent<Function<'static>>, u64)>,
    source_bytes: usize,
    clock: u64,
    /// Functions compiled so far.
    compiled: u64,
}

impl Functions {
    fn get(&mut self, source: &str) -> Option<Persistent<Function<'static>>> {
        self.clock += 1;
        let (function, used) = self.entries.get_mut(source)?;
        *used = self.clock;
        Some(function.clone())
    }

    fn insert(&mut self, source: &str, function: Persistent<Function<'static>>) {
        if source.len() > FUNCTIONS_SOURCE_BYTES_MAX {
            return;
        }
        while self.entries.len() >= FUNCTIONS_MAX || self.source_bytes + source.len() > FUNCTIONS_SOURCE_BYTES_MAX {
            let Some(oldest) = self.entries.iter().min_by_key(|(_, (_, used))| *used).map(|(key, _)| key.clone())
            else {
                break;
            };
            self.entries.remove(&oldest);
            self.source_bytes -= oldest.len();
        }
        self.clock += 1;
        self.compiled += 1;
        self.source_bytes += source.len();
        self.entries.insert(source.to_owned(), (function, self.clock));
    }
}

/// Locks the context down (see the file's header) and returns the privileged functions: `reset`, `precheck` and `adopt`.
/// It runs before any function, over pristine built-ins, and keeps its own references to every built-in it uses later, so replacing a global cannot reach it.
const LOCKDOWN: &str = r#"(function lockdown(hostPrototypes, sourceName, wrapperStart) {
  "use strict";
  const { defineProperty, freeze, getPrototypeOf, isExtensible, hasOwn } = Object;
  const { ownKeys, getOwnPropertyDescriptor, deleteProperty, apply } = Reflect;
  const BuiltinFunction = Function;
  const functionToString = Function.prototype.toString;
  const global = globalThis;

  // Its cleanup callbacks run as promise jobs whenever a collection finds a target dead, which could be in a later run.
  delete global.FinalizationRegistry;
  // QuickJS keeps these two in the context, not in the property, behind setters a frozen `Error` still calls: a function set by one run would format the stacks of the next. Plain values instead, as they are now.
  for (const name of ["prepareStackTrace", "stackTraceLimit"]) {
    if (hasOwn(Error, name)) defineProperty(Error, name, { value: Error[name], writable: false, configurable: false });
  }

  // Built-in objects no global leads to, reached through values that have them as prototypes.
  const samples = [
    function* () {}, async function () {}, async function* () {}, (async function* () {})(),
    [][Symbol.iterator](), new Map()[Symbol.iterator](), new Set()[Symbol.iterator](), ""[Symbol.iterator](),
    /x/[Symbol.matchAll](""), (function () { return arguments; })(),
  ];
  if (typeof Iterator === "function") {
    samples.push(Iterator.from({ next() { return { done: true }; } }), [].values().map((x) => x));
  }

  const seen = new Set([global]);
  const pending = [global, hostPrototypes, ...samples];
  const reach = (value) => {
    if ((typeof value === "object" && value !== null) || typeof value === "function") {
      if (!seen.has(value)) {
        seen.add(value);
        pending.push(value);
      }
    }
  };
  while (pending.length > 0) {
    const object = pending.pop();
    reach(getPrototypeOf(object));
    for (const key of ownKeys(object)) {
      const descriptor = getOwnPropertyDescriptor(object, key);
      reach(descriptor.value);
      reach(descriptor.get);
      reach(descriptor.set);
    }
  }

  // Properties functions assign on their own objects, which inherit them from a prototype; a frozen data property would make the assignment fail.
  const overridable = new Set(["constructor", "toString", "toLocaleString", "valueOf", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable", "name", "message", "toJSON"]);
  const hostPrototypeSet = new Set(ownKeys(hostPrototypes).map((kind) => hostPrototypes[kind]));
  const accessors = [];
  for (const object of seen) {
    if (object === global) continue;
    const every = hostPrototypeSet.has(object);
    for (const key of ownKeys(object)) {
      if (!every && !overridable.has(key)) continue;
      const descriptor = getOwnPropertyDescriptor(object, key);
      if (!hasOwn(descriptor, "value") || !descriptor.writable || !descriptor.configurable) continue;
      const value = descriptor.value;
      // Method shorthand: functions without a `prototype` object of their own, which would be reachable and changeable.
      const { get, set } = {
        get() { return value; },
        set(replacement) {
          if (this === object) {
            throw new TypeError(`Cannot assign to '${String(key)}' of a built-in object: functions cannot change built-ins`);
          }
          if ((typeof this !== "object" || this === null) && typeof this !== "function") return;
          defineProperty(this, key, { value: replacement, writable: true, enumerable: true, configurable: true });
        },
      };
      defineProperty(object, key, { get, set, enumerable: descriptor.enumerable, configurable: false });
      accessors.push(get, set);
    }
  }
  for (const object of seen) {
    if (object !== global) freeze(object);
  }
  for (const accessor of accessors) {
    freeze(accessor);
  }

  // The global object stays extensible, for the globals a function declares, but what is on it now stays as it is (an assignment to it fails, as to any frozen property), so a reset only has to delete what a run added.
  for (const key of ownKeys(global)) {
    defineProperty(global, key, { writable: false, configurable: false });
  }
  const globalPrototype = getPrototypeOf(global);
  const baseline = ownKeys(global);

  function reset() {
    if (!isExtensible(global) || getPrototypeOf(global) !== globalPrototype) return false;
    const keys = ownKeys(global);
    if (keys.length === baseline.length) return true;
    // The baseline keys come in the same order, with the added ones among them.
    let kept = 0;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (kept < baseline.length && key === baseline[kept]) {
        kept++;
      } else if (!deleteProperty(global, key)) {
        return false;
      }
    }
    return kept === baseline.length;
  }

  // The `Function` constructor compiles `body` from the third line of its text and names it `<input>`: an error's frames get the source's name and lines, without the constructor's and this function's frames.
  function precheck(body) {
    let compiled;
    try {
      compiled = BuiltinFunction(body);
    } catch (error) {
      try {
        const stack = error.stack;
        const end = stack.indexOf("    at Function (native)");
        error.stack = (end < 0 ? stack : stack.slice(0, end))
          .replace(/<input>:(\d+):(\d+)/g, (_, line, column) =>
            // In the wrapper's coordinates, which the sandbox takes back for every error.
            `${sourceName}:${line - 2}:${line - 2 === 1 ? Number(column) + wrapperStart : column}`);
      } catch {
        // Not an error object with a stack of its own: thrown as it is.
      }
      throw error;
    }
    return apply(functionToString, compiled, []) === "function anonymous(\n) {\n" + body + "\n}";
  }

  function adopt(compiled) {
    defineProperty(compiled, "name", { value: "<eval>" });
    return freeze(compiled);
  }

  return { reset, precheck, adopt };
})"#;
