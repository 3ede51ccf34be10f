# Debian's full libopencv-dev pulls VTK, Qt and ffmpeg (~150 packages). We need only
# core/imgproc/imgcodecs, whose -dev packages ship headers and libraries but no CMake
# config, so we locate them directly and expose one imported target.
find_path(OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
set(_mosdat_opencv_libs)
foreach(part core imgproc imgcodecs)
  find_library(OPENCV_${part}_LIBRARY opencv_${part} REQUIRED)
  list(APPEND _mosdat_opencv_libs ${OPENCV_${part}_LIBRARY})
endforeach()
add_library(mosdat_opencv INTERFACE IMPORTED)
target_include_directories(mosdat_opencv SYSTEM INTERFACE ${OPENCV_INCLUDE_DIR})
target_link_libraries(mosdat_opencv INTERFACE ${_mosdat_opencv_libs})
