# Whether to build the `coe` Python module (python/), and with which Python.
#
# COE_PYTHON is ON by default when the Python development files and pybind11
# (Debian: python3-dev, pybind11-dev) are found, OFF (with a message saying
# why) when they are not; forcing it ON without them is an error.  Under
# sanitizers it defaults to OFF: a sanitized extension module cannot be loaded
# by the unsanitized Python interpreter (the sanitizer runtime must come first
# in the process), so there is nothing it could be tested with.
find_package(Python3 3.8 COMPONENTS Interpreter Development.Module QUIET)
if(Python3_FOUND)
  find_package(pybind11 2.6 CONFIG QUIET)
endif()
if(COE_SANITIZE)
  set(coe_python_default OFF)
  set(coe_python_why "a sanitized module cannot be loaded by an unsanitized Python")
elseif(NOT Python3_FOUND)
  set(coe_python_default OFF)
  set(coe_python_why "no Python 3 development files (install python3-dev)")
elseif(NOT pybind11_FOUND)
  set(coe_python_default OFF)
  set(coe_python_why "pybind11 not found (install pybind11-dev)")
else()
  set(coe_python_default ON)
endif()
option(COE_PYTHON "Build the coe Python module (pybind11)" ${coe_python_default})
if(COE_PYTHON)
  if(NOT Python3_FOUND OR NOT pybind11_FOUND)
    message(FATAL_ERROR "COE_PYTHON is ON but ${coe_python_why}")
  endif()
  message(STATUS "coe Python module: built for ${Python3_EXECUTABLE} (${Python3_VERSION}), pybind11 ${pybind11_VERSION}")
  add_subdirectory(python)
elseif(coe_python_why)
  message(NOTICE "coe Python module: skipped, ${coe_python_why}")
else()
  message(NOTICE "coe Python module: skipped (COE_PYTHON=OFF)")
endif()
