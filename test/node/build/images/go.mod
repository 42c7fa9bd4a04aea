module authpolicy-operator/test/node/build/images

go 1.26.0
