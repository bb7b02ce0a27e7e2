# Read by ctest after the Catch tests are listed (TEST_INCLUDE_FILES). The longest tests start first:
# on a clean clone ctest has no timings of earlier runs and would start them in the order they are
# listed, and with the longest last both workers wait on one of them at the end of the run.
foreach(name IN ITEMS
    "e2e:The sample's dataset: aggregate, release, a field client offline, and the published site in chromium"
    "e2e:The server killed with SIGKILL at random moments of many syncs loses no edit and stores none twice"
    "e2e:Hundreds of clients syncing at once are all served and every change-set is stored once"
    "e2e:mnr-client killed mid-import: the store stays consistent and imports are all or nothing"
    "e2e:A backup taken while field offices sync restores into a new directory whose audit trail verifies"
    "e2e:A resolution keeps the picked candidate whole, and --value keeps the current note"
    "e2e:With two session slots twelve concurrent clients are told the server is busy and all sync in the end")
  set_tests_properties("${name}" PROPERTIES COST 1000)
endforeach()
