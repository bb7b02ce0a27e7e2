// A row of the country register: who the survey counts and in which groups (server/dataset.h). Its
// own header so that the dataset does not depend on the store that keeps the register.
#pragma once

#include <string>

namespace mnr::server {

struct Country {
  std::string code;
  std::string name;
  std::string income_group;  // high|upper_middle|lower_middle|low
  std::string region;        // empty: none
};

}  // namespace mnr::server
