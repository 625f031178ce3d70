module lakehouse/loadgen

go 1.22
