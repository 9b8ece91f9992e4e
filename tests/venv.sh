# Sourced by tests/run, tests/infra-check and bench/run: the one way they keep a pinned virtualenv.
#
# ensure_venv DIR PACKAGE...: DIR holds exactly these pins, installed once. The stamp file names
# the pin set, so a changed set, or an install cut short, starts over in a fresh DIR. Announces
# itself with the caller's `step`.
ensure_venv() {
  local dir=$1
  shift
  local stamp
  stamp="$dir/.installed-$(printf '%s\n' "$@" | sha256sum | cut -c1-12)"
  [ -f "$stamp" ] && return 0
  step "installing $* into $dir"
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
  touch "$stamp"
}
