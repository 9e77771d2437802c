// SPDX-License-Identifier: Apache-2.0
// UART transmitter, 8 data bits, no parity, 1 stop bit, fed by a valid/ready byte stream.

`default_nettype none

module uart_tx #(
  parameter int ClkHz = 200_000_000,  // clock frequency in Hz
  parameter int Baud  = 115_200,      // bit rate; ClkHz / Baud must be >= 2
  localparam int Div  = ClkHz / Baud,  // clock cycles per bit
  localparam int CntW = $clog2(Div + 1)
) (
  input  wire logic       clk_i,
  input  wire logic       rst_i,    // synchronous, active high
  input  wire logic       valid_i,
  output logic            ready_o,  // high while idle; a byte is taken when valid_i is high
  input  wire logic [7:0] data_i,
  output logic            tx_o,     // serial line, idle high
  output logic            busy_o    // a frame is being sent
);

  logic [CntW-1:0] cnt_q;    // cycles left in the current bit, minus one
  logic [3:0]      bits_q;   // bits left to send, including the current one; 0 when idle
  logic [9:0]      shift_q;  // bit 0 is on the line; ones are shifted in behind the frame

  localparam logic [CntW-1:0] FullBit = CntW'(Div - 1);

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      cnt_q   <= '0;
      bits_q  <= '0;
      shift_q <= '1;
    end else if (bits_q == '0) begin
      if (valid_i) begin
        shift_q <= {1'b1, data_i, 1'b0};  // stop, data LSB first, start
        bits_q  <= 4'd10;
        cnt_q   <= FullBit;
      end
    end else if (cnt_q != '0) begin
      cnt_q <= cnt_q - 1'b1;
    end else begin
      shift_q <= {1'b1, shift_q[9:1]};
      bits_q  <= bits_q - 1'b1;
      cnt_q   <= FullBit;
    end
  end

  assign ready_o = (bits_q == '0);
  assign tx_o    = shift_q[0];
  assign busy_o  = (bits_q != '0);

`ifndef SYNTHESIS
  initial begin
    if (Div < 2) $fatal(1, "uart_tx: ClkHz / Baud must be >= 2, got %0d", Div);
  end
`endif

endmodule : uart_tx

`default_nettype wire
