#include "scheduler/device_config.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace autosched::scheduler {

namespace {

constexpr const char* kSyntax =
    "syntax: DEVICE:{key:value,...},... or JSON {\"DEVICE\": {\"key\": value, ...}, ...}";

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::invalid_argument, "device_properties: " + message);
}

bool blank(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && blank(s[b])) ++b;
  while (e > b && blank(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// The brace form: [{] DEVICE:{key:value,...},... [}] (see the header).
class BraceParser {
 public:
  explicit BraceParser(const std::string& text) : t_(text) {}

  DeviceEntries parse() {
    DeviceEntries out;
    skip();
    const bool wrapped = peek('{');
    if (wrapped) ++p_;
    skip();
    if (!at_end() && !(wrapped && peek('}'))) {
      for (;;) {
        const std::size_t at = p_;
        const std::string device = token("a device name");
        skip();
        expect(':', "':' after the device name '" + device + "'");
        skip();
        expect('{', "'{' opening the properties of " + device);
        Properties props = properties_of(device);
        if (!out.emplace(device, std::move(props)).second) fail(at, "device '" + device + "' is given twice");
        skip();
        if (!peek(',')) break;
        ++p_;
        skip();
      }
    }
    if (wrapped) expect('}', "',' or the '}' closing the device list");
    skip();
    if (!at_end()) fail(p_, "expected ',' before the next device, or the end of the text");
    return out;
  }

 private:
  // After the '{' of `device`'s properties, through its '}'.
  Properties properties_of(const std::string& device) {
    Properties props;
    skip();
    if (peek('}')) {
      ++p_;
      return props;
    }
    for (;;) {
      skip();
      const std::size_t at = p_;
      const std::string key = token("a property name");
      skip();
      expect(':', "':' after the property name '" + key + "' of " + device);
      skip();
      const std::string value = value_text(device + "." + key);
      if (!props.emplace(key, value).second) fail(at, "property '" + key + "' of " + device + " is given twice");
      skip();
      if (peek(',')) {
        ++p_;
        continue;
      }
      expect('}', "',' or the '}' closing the properties of " + device);
      return props;
    }
  }

  std::string value_text(const std::string& what) {
    const std::size_t start = p_;
    if (peek('"')) {
      std::string value;
      for (++p_; !at_end() && t_[p_] != '"'; ++p_) {
        if (t_[p_] == '\\' && p_ + 1 < t_.size()) ++p_;
        value += t_[p_];
      }
      if (at_end()) fail(start, "unterminated quoted value of " + what);
      ++p_;
      return value;
    }
    while (!at_end() && t_[p_] != ',' && t_[p_] != '}') {
      if (t_[p_] == '{' || t_[p_] == '"')
        fail(p_, std::string("unexpected '") + t_[p_] + "' in the value of " + what +
                     " (quote a value that holds ',', '{', '}' or '\"')");
      ++p_;
    }
    std::string value = trim(t_.substr(start, p_ - start));
    if (value.empty()) fail(start, "expected a value for " + what);
    return value;
  }

  // A name: up to a blank or one of :{},"
  std::string token(const char* what) {
    const std::size_t start = p_;
    while (!at_end() && !blank(t_[p_]) && std::string_view(":{},\"").find(t_[p_]) == std::string_view::npos) ++p_;
    if (p_ == start) fail(start, std::string("expected ") + what);
    return t_.substr(start, p_ - start);
  }

  void expect(char c, const std::string& what) {
    if (!peek(c)) fail(p_, "expected " + what);
    ++p_;
  }
  bool peek(char c) const { return !at_end() && t_[p_] == c; }
  bool at_end() const { return p_ >= t_.size(); }
  void skip() {
    while (!at_end() && blank(t_[p_])) ++p_;
  }

  [[noreturn]] void fail(std::size_t pos, const std::string& what) const {
    const std::string where =
        pos >= t_.size() ? "at the end of the text" : "at character " + std::to_string(pos + 1) + " ('" +
                                                          t_.substr(pos, 12) + (pos + 12 < t_.size() ? "...')" : "')");
    invalid("malformed text " + where + ": " + what + "; " + kSyntax);
  }

  const std::string& t_;
  std::size_t p_ = 0;
};

using Json = nlohmann::json;

std::string json_value(const Json& v, const std::string& what) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return v.dump();
  if (v.is_array() && std::all_of(v.begin(), v.end(), [](const Json& e) { return e.is_string(); })) {
    std::string joined;
    for (const auto& e : v) {
      if (!joined.empty()) joined += ',';
      joined += e.get<std::string>();
    }
    return joined;
  }
  invalid("the value of " + what + " must be a string, number, boolean or array of strings, not " + v.dump());
}

DeviceEntries parse_json(const std::string& text) {
  // nlohmann keeps the last of duplicate keys; a config given twice is a mistake worth naming.
  struct Scope {
    std::string owner;  // the key whose value this object is ("" at the top)
    std::set<std::string> keys;
  };
  std::vector<Scope> scopes;
  std::string last_key, duplicate;
  Json doc;
  try {
    doc = Json::parse(text, [&](int, Json::parse_event_t event, Json& parsed) {
      if (event == Json::parse_event_t::object_start) {
        scopes.push_back({scopes.empty() ? std::string() : last_key, {}});
      } else if (event == Json::parse_event_t::object_end) {
        if (!scopes.empty()) scopes.pop_back();
      } else if (event == Json::parse_event_t::key) {
        last_key = parsed.get<std::string>();
        if (!scopes.empty() && !scopes.back().keys.insert(last_key).second && duplicate.empty())
          duplicate = scopes.size() == 1 ? "device '" + last_key + "' is given twice"
                                         : "property '" + last_key + "' of " + scopes.back().owner + " is given twice";
      }
      return true;
    });
  } catch (const Json::parse_error& e) {
    std::string message = e.what();
    if (const auto end = message.find("] "); message.rfind("[json.exception", 0) == 0 && end != std::string::npos)
      message.erase(0, end + 2);
    invalid("malformed JSON at character " + std::to_string(e.byte) + ": " + message + "; " + kSyntax);
  }
  if (!duplicate.empty()) invalid(duplicate);
  if (!doc.is_object()) invalid("JSON must be an object {\"DEVICE\": {\"key\": value, ...}}, not " + doc.dump());
  DeviceEntries out;
  for (const auto& [device, entry] : doc.items()) {
    if (!entry.is_object()) invalid("the value of '" + device + "' must be an object of properties, not " + entry.dump());
    Properties& props = out[device];
    for (const auto& [key, value] : entry.items()) props[key] = json_value(value, device + "." + key);
  }
  return out;
}

// JSON when the text opens with `{"` or is `{}`; otherwise the brace form.
bool looks_like_json(const std::string& text) {
  std::size_t p = 0;
  while (p < text.size() && blank(text[p])) ++p;
  if (p == text.size() || text[p] != '{') return false;
  for (++p; p < text.size() && blank(text[p]); ++p) {
  }
  return p < text.size() && (text[p] == '"' || text[p] == '}');
}

}  // namespace

DeviceEntries parse_device_properties(const std::string& text) {
  DeviceEntries entries = looks_like_json(text) ? parse_json(text) : BraceParser(text).parse();
  for (const auto& [device, props] : entries) {
    for (const auto& [key, value] : props)
      for (const char* own : kNotPerDeviceProperties)
        if (key == own)
          invalid("the entry of " + device + " sets '" + key +
                  "', which steers AUTO / MULTI themselves and cannot be set for one device");
    try {
      validate_properties(props);
    } catch (const Error& e) {
      invalid("the entry of " + device + ": " + e.what());
    }
  }
  return entries;
}

DeviceConfig::DeviceConfig(Properties shared, const DeviceEntries& entries, const std::vector<Candidate>& candidates,
                           const std::string& virtual_name)
    : shared_(std::move(shared)) {
  std::map<std::string, std::string> entry_of;  // candidate's own name → the entry that named it
  for (const auto& [entry, props] : entries) {
    const auto match = std::find_if(candidates.begin(), candidates.end(), [&, &entry = entry](const Candidate& c) {
      const auto aliases = c.device->aliases();
      return c.name == entry || std::find(aliases.begin(), aliases.end(), entry) != aliases.end();
    });
    if (match == candidates.end()) {
      std::string names;
      for (const auto& c : candidates) {
        if (!names.empty()) names += ", ";
        names += c.name;
      }
      throw Error(ErrorCode::invalid_argument, virtual_name + ": device_properties entry '" + entry +
                                                   "' names no candidate device; candidates: " + names);
    }
    if (const auto [it, fresh] = entry_of.emplace(match->name, entry); !fresh)
      throw Error(ErrorCode::invalid_argument, virtual_name + ": device_properties entries '" + it->second +
                                                   "' and '" + entry + "' both name " + match->name +
                                                   "; give its properties once");
    own_[match->name] = props;
  }
}

Properties DeviceConfig::for_device(const std::string& name) const {
  Properties out = shared_;
  if (const auto it = own_.find(name); it != own_.end())
    for (const auto& [key, value] : it->second) out[key] = value;
  return out;
}

std::string DeviceConfig::effective_json(const std::vector<std::string>& names) const {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& name : names) {
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    for (const auto& [key, value] : for_device(name)) entry[key] = value;
    out[name] = std::move(entry);
  }
  return out.dump();
}

}  // namespace autosched::scheduler
