#pragma once

#include <rapidjson/document.h>

#include <string>

#include "common/status.h"

namespace kthw::reconcilers {

// The one emitter for the YAML documents kthw writes (kubeconfigs, encryption configs) and
// shows (API objects in diffs): block style, built from a JSON value so that structure comes
// only from the value, never from the text inside it. A string is written plain only when it is
// made of letters, digits and "._/:+=@-", starts with a letter or "/", does not end in ":" and
// is not a word YAML 1.1 reads as a boolean or null; every other scalar is written by RapidJSON
// as JSON (ASCII, escaped), which YAML reads back as the same value. InvalidArgument when a
// string is not valid UTF-8.
StatusOr<std::string> emitYaml(const rapidjson::Value& document);

}  // namespace kthw::reconcilers
