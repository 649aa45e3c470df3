#include "core/device_string.hpp"

#include <cctype>
#include <tuple>

#include "autosched/error.hpp"

namespace autosched::detail {

namespace {
std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

[[noreturn]] void bad(const std::string& whole, const std::string& why) {
  throw Error(ErrorCode::invalid_argument, "device string '" + whole + "': " + why);
}

bool valid_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}
}  // namespace

std::pair<std::string, unsigned> split_request_cap(const std::string& text, const std::string& whole) {
  const auto open = text.find('(');
  if (open == std::string::npos) {
    if (!valid_name(text)) bad(whole, "'" + text + "' is not a device name");
    return {text, 0};
  }
  if (text.back() != ')') bad(whole, "'" + text + "' is missing the closing ')'");
  const std::string name = trim(text.substr(0, open));
  const std::string number = trim(text.substr(open + 1, text.size() - open - 2));
  if (!valid_name(name)) bad(whole, "'" + text + "' does not start with a device name");
  if (number.empty() || number.size() > 6 || number.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(number) == 0)
    bad(whole, "'" + text + "': the request cap in parentheses must be a positive integer");
  return {name, unsigned(std::stoul(number))};
}

DeviceRequest parse_device_string(const std::string& text) {
  const std::string whole = trim(text);
  if (whole.empty()) bad(text, "empty; use a device name such as CPU, REF or AUTO");
  DeviceRequest request;
  const auto colon = whole.find(':');
  const std::string head = trim(whole.substr(0, colon));
  std::tie(request.name, request.request_cap) = split_request_cap(head, whole);
  if (colon == std::string::npos) return request;
  request.has_candidate_list = true;
  std::string rest = whole.substr(colon + 1);
  std::size_t start = 0;
  while (start <= rest.size()) {
    auto comma = rest.find(',', start);
    if (comma == std::string::npos) comma = rest.size();
    const std::string item = trim(rest.substr(start, comma - start));
    if (item.empty()) bad(whole, "empty device name in the candidate list");
    const std::string body = item[0] == '-' ? item.substr(1) : item;
    split_request_cap(body, whole);  // syntax check
    request.candidates.push_back(item);
    start = comma + 1;
  }
  return request;
}

}  // namespace autosched::detail
