-- Definitions the proofs below import.
def two : Nat := 2
def four : Nat := two + two
def answer : Nat := 6 * 7
