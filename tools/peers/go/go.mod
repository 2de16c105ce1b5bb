module tlsdrill.test/peers/go

go 1.19
