#!/usr/bin/env python3
"""Makes a bulletin token the way daemon/token.c does, from the secret
file: for tests that need a genuine token with chosen claims (an old
issued time, another list). usage: tokenforge.py SECRET PURPOSE LIST ID
ISSUED"""
import base64, hashlib, hmac, struct, sys

secret = open(sys.argv[1], "rb").read()
purpose, lst, sid, issued = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
key = hashlib.blake2b(secret, digest_size=32, key=b"bulletin token key v1").digest()
tag = hashlib.blake2b(lst.encode(), digest_size=16, key=b"bulletin list tag v1").digest()[:4]
body = bytes([2, ord(purpose)]) + tag + struct.pack(">qI", sid, issued)
mac = hmac.new(key, body, hashlib.sha256).digest()[:16]
print(base64.urlsafe_b64encode(body + mac).decode().rstrip("="))
