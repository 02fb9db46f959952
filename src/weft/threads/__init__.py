"""weft.threads"""
