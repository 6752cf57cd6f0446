#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace kthw::reconcilers {

// The one place where a value becomes a word of an nginx or haproxy configuration. A word made
// only of letters, digits and "._:/-" is written as it is; any other is quoted. Control
// characters are refused (a line break ends a directive or a comment).

// nginx (ngx_conf_read_token): double quotes, with '"' and '\' escaped, so that ';', '{', '}',
// '#' and spaces are literal. '$' is refused: several directives (proxy_pass among them) expand
// variables, and nginx has no escape for '$'.
StatusOr<std::string> nginxWord(std::string_view value);

// haproxy: single quotes, inside which nothing is special (no escapes, no "${VAR}"), so a "'"
// cannot be represented and is refused.
StatusOr<std::string> haproxyWord(std::string_view value);

// "# text\n" for either format.
StatusOr<std::string> configComment(std::string_view text);

}  // namespace kthw::reconcilers
