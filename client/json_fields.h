// Reading optional fields of JSON that the server or a bundle sent.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace mnr::client {

// The string at `key`, or "" when the field is missing or not a string: for display fields, where an
// older server that does not send one is not an error.
inline std::string StringField(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

}  // namespace mnr::client
