"""Reasoning prompt templates; the reference DataFlow's prompt classes are in math, general and diy."""
