module lakehouse/validatord

go 1.22
