#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kthw::reconcilers {

// The one place where text becomes part of a systemd unit file (systemd.syntax(7),
// systemd.unit(5) "SPECIFIERS", systemd.service(5) "COMMAND LINES"). Each function returns the
// text to write after "Key=", or InvalidArgument for a value a unit file cannot carry: a control
// character (a line feed or carriage return would end the line, a NUL the file), leading or
// trailing whitespace (systemd strips it) or a trailing backslash (it continues the line).

// Whether systemd expands specifiers ("%n") in a directive's value.
enum class Specifiers { kExpanded, kNotExpanded };

// A directive read as one string (Description=, User=, After=, Restart=, ...). Where specifiers
// are expanded, "%" is written "%%"; where they are not, a "%" is refused.
StatusOr<std::string> systemdValue(std::string_view value, Specifiers specifiers);

// One argument of a command line (ExecStart=): "%" as "%%", "$" as "$$" (no variable
// expansion), backslash and double quote escaped; double-quoted unless every character is one
// that needs no quoting.
StatusOr<std::string> systemdCommandWord(std::string_view word);

// The whole ExecStart= value: the first word must be an absolute path; one word per line, joined
// with line continuations.
StatusOr<std::string> systemdCommandLine(const std::vector<std::string>& argv);

// An Environment= assignment "NAME=value", quoted as one word. Environment= expands specifiers
// but not variables, so "%" is doubled and "$" left alone.
StatusOr<std::string> systemdEnvironment(std::string_view name, std::string_view value);

}  // namespace kthw::reconcilers
