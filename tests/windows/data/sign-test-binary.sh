#!/bin/sh
# Makes the Authenticode test data for tests/windows/test_authenticode.c, at test time (nothing
# secret is committed): a throw-away test CA, a code-signing certificate issued by it, and copies
# of a PE image that are unsigned, signed (osslsigncode, SHA-256) and signed-then-tampered.
#   usage: sign-test-binary.sh <input.exe> <output-dir>
# Output: ca.der (the root the test trusts temporarily), unsigned.exe, signed.exe, tampered.exe.
set -eu
in=$1
out=$2
rm -rf "$out"
mkdir -p "$out"
cd "$out"

subj_ca="/C=US/O=EdgeBroker Test/CN=EdgeBroker Test Root"
subj_leaf="/C=US/O=EdgeBroker Test/CN=EdgeBroker Test Signer"

openssl req -x509 -newkey rsa:2048 -sha256 -days 7 -nodes -keyout ca.key -out ca.pem \
    -subj "$subj_ca" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -sha256 -nodes -keyout leaf.key -out leaf.csr -subj "$subj_leaf" \
    2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' > leaf.ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 7 -sha256 \
    -extfile leaf.ext -out leaf.pem 2>/dev/null
openssl x509 -in ca.pem -outform DER -out ca.der
cat leaf.pem ca.pem > chain.pem

cp "$in" unsigned.exe
osslsigncode sign -certs chain.pem -key leaf.key -h sha256 -n "EdgeBroker test" \
    -in unsigned.exe -out signed.exe >/dev/null
# One byte of the image (past the headers, inside the signed range) flipped after signing.
cp signed.exe tampered.exe
python3 -c 'import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[0x500] ^= 0xFF
open(p, "wb").write(bytes(b))' tampered.exe
osslsigncode verify -CAfile ca.pem -in signed.exe >/dev/null
echo "authenticode test data in $out"
