# mnr_gettext(TARGET DOMAIN LANG...): compiles po/LANG.po of each LANG into DOMAIN.mo catalogues at
# build time, under <build>/locale/<lang>/LC_MESSAGES/ (where TARGET finds them when run from the build
# tree) and installs them under share/locale. TARGET gets MNR_BUILD_LOCALEDIR for shared/src/i18n.cc's
# lookup (see mnr/i18n.h). The target `<DOMAIN>-pot` re-extracts po/DOMAIN.pot from the sources and
# merges it into each .po (po/extract.sh); e2e test "i18n" fails when that was forgotten.
include(GNUInstallDirs)
find_program(MNR_MSGFMT msgfmt REQUIRED)
function(mnr_gettext target domain)
  set(mo_files)
  foreach(lang ${ARGN})
    set(po ${PROJECT_SOURCE_DIR}/po/${lang}.po)
    set(mo ${PROJECT_BINARY_DIR}/locale/${lang}/LC_MESSAGES/${domain}.mo)
    add_custom_command(
      OUTPUT ${mo}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/locale/${lang}/LC_MESSAGES
      COMMAND ${MNR_MSGFMT} --check -o ${mo} ${po}
      DEPENDS ${po}
      COMMENT "Compiling ${lang} messages of ${domain}")
    list(APPEND mo_files ${mo})
    install(FILES ${mo} DESTINATION ${CMAKE_INSTALL_LOCALEDIR}/${lang}/LC_MESSAGES COMPONENT client)
  endforeach()
  add_custom_target(${domain}-mo ALL DEPENDS ${mo_files})
  add_dependencies(${target} ${domain}-mo)
  target_compile_definitions(${target} PRIVATE MNR_BUILD_LOCALEDIR="${PROJECT_BINARY_DIR}/locale"
                                               MNR_MESSAGES_DOMAIN="${domain}")
  add_custom_target(${domain}-pot
    COMMAND sh ${PROJECT_SOURCE_DIR}/po/extract.sh --update
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    COMMENT "Extracting the messages of ${domain} into po/${domain}.pot and merging them into po/*.po")
endfunction()
