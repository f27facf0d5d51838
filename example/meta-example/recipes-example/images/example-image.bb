SUMMARY = "Example image: core-image-minimal plus example-hello"
LICENSE = "MIT"
IMAGE_INSTALL = "base-files busybox example-hello"
inherit core-image
