"""The bash session of one run: each step a fresh bash in its own process group, with the shell
state of the steps before it (variables, exported or not, functions and the working directory).

A step's code is written to `step-N.sh` in the run folder and run as `bash step-N.sh`: no value
is ever part of a command line or of generated shell text. Values reach bash as environment
variables. A prelude (given through BASH_ENV, then unset) sources the saved state and installs
an EXIT trap that writes the new state with bash's own `declare -p` / `declare -f` quoting.
The state file holds secrets: the run folder is 0700 and every file in it 0600.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from opsbook.execution.process import ProcessResult, run_process

STATE_FILE = "state.sh"  # the state after the last step that counts
NEXT_STATE_FILE = "state.next.sh"  # written by the step now running
PRELUDE_FILE = "prelude.sh"
INPUTS_FILE = "inputs.json"  # the values given to the run, read back by a resume

# Variables bash owns, opsbook's own, and the prelude's locals: never saved or restored.
_PRELUDE = r"""# Written by opsbook for every shell step of this run. It holds no values.
unset BASH_ENV
umask 077
__opsbook_next=$OPSBOOK_NEXT_STATE
__opsbook_overrides=${OPSBOOK_OVERRIDES:-}
__opsbook_params=" ${OPSBOOK_PARAMETERS:-} "
__opsbook_errexit=${OPSBOOK_ERREXIT:-1}
unset OPSBOOK_NEXT_STATE OPSBOOK_OVERRIDES OPSBOOK_PARAMETERS OPSBOOK_ERREXIT
for __opsbook_n in $__opsbook_overrides; do
  printf -v "__opsbook_o_$__opsbook_n" '%s' "${!__opsbook_n}"
done
__opsbook_state_path=${OPSBOOK_STATE:-}
unset OPSBOOK_STATE
if [[ -n $__opsbook_state_path && -f $__opsbook_state_path ]]; then
  source "$__opsbook_state_path" 2>/dev/null || true
fi
for __opsbook_n in $__opsbook_overrides; do
  __opsbook_v="__opsbook_o_$__opsbook_n"
  printf -v "$__opsbook_n" '%s' "${!__opsbook_v}"
  export "$__opsbook_n"
  unset "$__opsbook_v"
done
__opsbook_save_state() {
  local __opsbook_rc=$? __opsbook_n __opsbook_names=() __opsbook_f __opsbook_list
  # Builtins with redirections, no command substitution: saving state forks nothing.
  compgen -v >"$__opsbook_next.names"
  mapfile -t __opsbook_list <"$__opsbook_next.names"
  for __opsbook_n in "${__opsbook_list[@]}"; do
    case $__opsbook_n in
      BASH|BASHOPTS|BASHPID|BASH_*|EUID|PPID|UID|GROUPS|SHELLOPTS|SHLVL|PWD|OLDPWD) ;;
      FUNCNAME|PIPESTATUS|RANDOM|SRANDOM|SECONDS|LINENO|HISTCMD|EPOCHREALTIME|EPOCHSECONDS) ;;
      DIRSTACK|COMP_WORDBREAKS|OPTIND|OPTARG|OPTERR|_|__opsbook_*) ;;
      *) __opsbook_names+=("$__opsbook_n") ;;
    esac
  done
  {
    declare -p "${__opsbook_names[@]}" 2>/dev/null
    compgen -A function >"$__opsbook_next.names"
    mapfile -t __opsbook_list <"$__opsbook_next.names"
    for __opsbook_f in "${__opsbook_list[@]}"; do
      [[ $__opsbook_f == __opsbook_* || $__opsbook_f == read ]] || declare -f "$__opsbook_f"
    done
    printf 'cd -- %q 2>/dev/null || true\n' "$PWD"
  } >"$__opsbook_next"
  return $__opsbook_rc
}
trap __opsbook_save_state EXIT
# `read -p` prompts were asked before the run: keep the value given for a parameter.
read() {
  local __opsbook_last=${!#}
  if [[ $__opsbook_params == *" $__opsbook_last "* && -n ${!__opsbook_last+set} ]]; then
    return 0
  fi
  builtin read "$@"
}
if [[ $__opsbook_errexit == 1 ]]; then set -e -o pipefail; fi
"""

_STATE_NAME = re.compile(r"^declare -[-a-zA-Z]* ([A-Za-z_][A-Za-z0-9_]*)(?:=|$)", re.M)


@dataclass(frozen=True)
class ShellStep:
    number: int
    code: str
    timeout: float
    parameters: tuple[str, ...] = ()  # names asked before the run (`read -p`)
    errexit: bool = True


class ShellSession:
    """The shell of one run, living in `run_dir`."""

    def __init__(self, run_dir: Path, *, bash: str = "bash") -> None:
        self.run_dir = run_dir
        self.bash = bash
        self.overrides: tuple[str, ...] = ()  # given names that beat the saved state, once

    @property
    def state_file(self) -> Path:
        return self.run_dir / STATE_FILE

    def prepare(self) -> None:
        """Create the run folder (0700) and the prelude."""
        self.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.run_dir, 0o700)
        _write_private(self.run_dir / PRELUDE_FILE, _PRELUDE)

    def save_inputs(self, values: Mapping[str, str]) -> None:
        """Keep the values given to the run (secrets too) for a resume; 0600, never printed."""
        _write_private(self.run_dir / INPUTS_FILE, json.dumps(dict(values)))

    def saved_inputs(self) -> dict[str, str]:
        try:
            data = json.loads((self.run_dir / INPUTS_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def saved_names(self) -> set[str]:
        """Names of the variables in the saved state (never their values)."""
        try:
            return set(_STATE_NAME.findall(self.state_file.read_text()))
        except FileNotFoundError:
            return set()

    async def run(
        self,
        step: ShellStep,
        *,
        env: Mapping[str, str],
        cwd: str,
        stop: asyncio.Event,
        on_output: Callable[[bytes], None],
        on_start: Callable[[int], None] | None = None,
    ) -> ProcessResult:
        """Run one step; its new state is kept only when `commit_state` is called."""
        script = self.run_dir / f"step-{step.number}.sh"
        _write_private(script, step.code if step.code.endswith("\n") else step.code + "\n")
        next_state = self.run_dir / NEXT_STATE_FILE
        next_state.unlink(missing_ok=True)
        full_env = {
            **env,
            "BASH_ENV": str(self.run_dir / PRELUDE_FILE),
            "OPSBOOK_STATE": str(self.state_file),
            "OPSBOOK_NEXT_STATE": str(next_state),
            "OPSBOOK_PARAMETERS": " ".join(step.parameters),
            "OPSBOOK_ERREXIT": "1" if step.errexit else "0",
        }
        if self.overrides:
            full_env["OPSBOOK_OVERRIDES"] = " ".join(self.overrides)
            self.overrides = ()
        return await run_process(
            [self.bash, "--noprofile", "--norc", str(script)],
            env=full_env,
            cwd=cwd,
            timeout=step.timeout,
            stop=stop,
            on_output=on_output,
            on_start=on_start,
        )

    def commit_state(self) -> None:
        """Make the state the last step left the state the next step starts from."""
        next_state = self.run_dir / NEXT_STATE_FILE
        if next_state.exists():
            os.chmod(next_state, 0o600)
            os.replace(next_state, self.state_file)

    def discard_state(self) -> None:
        """Forget what the last step left (it failed, timed out or was cut short mid-write)."""
        (self.run_dir / NEXT_STATE_FILE).unlink(missing_ok=True)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
